"""Command handlers: plain functions from a request to a `Reply`, with no Discord types."""
