"""Put a message from elsewhere (a library's error, a user's exception) inside one of rft's own sentences.

Such a message often ends with its own full stop ("… and try again."); rft's
sentence around it adds one more (". Check the id …"), and the user reads
"again.. Check". ``clause`` drops the closing stop, so the join reads as one text.
"""

from __future__ import annotations


def clause(message: object) -> str:
    """``message`` as text without its closing full stops and spaces, ready to be followed by ". More"."""
    return str(message).strip().rstrip(".").rstrip()
