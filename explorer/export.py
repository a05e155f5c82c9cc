"""Per-token numbers as files a user can load: a float32 `.npy` and a CSV with a header."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np

from explorer.contract import Attachment


def npy(filename: str, values: np.ndarray, description: str) -> Attachment:
    """`values` as float32 in NumPy's `.npy` format."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(values, dtype=np.float32))
    return Attachment(filename, buffer.getvalue(), description)


def table(filename: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Attachment:
    """Rows as CSV (quoted where a token needs it), under `header`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Attachment(filename, buffer.getvalue().encode(), ", ".join(header))
