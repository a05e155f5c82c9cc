"""`/attribute`: which input tokens drive one prediction (saliency, integrated gradients)."""
