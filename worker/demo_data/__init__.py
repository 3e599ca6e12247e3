"""Static seed lists and the story of the demo year (see worker/demo.py)."""
