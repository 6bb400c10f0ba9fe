"""`make bench`: every module here named *_bench.py contributes one section of build/bench.json."""
