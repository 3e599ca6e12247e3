"""The workflows fed from the event ledger, and their helpers: worker/flows/registry.py lists the workflows.

The package imports none of its modules: a helper (recipients, reads, ...) imports alone, without every workflow
and what they import (worker/drafting.py imports recipients, and the collection plan imports drafting).
"""
