"""The cost model: what one shop's stack costs a month on AWS, from requests counted on the local stack.

counter (botocore hooks) and harness (a shop driven on the local stack) count; model turns counted
per-unit figures, a stated mix and prices.json into a bill. Operator tooling: no Lambda imports it.
"""
