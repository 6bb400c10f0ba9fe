-- Order ids cancelled (Order Cancelled) or fully refunded (Order Refunded without an amount or lines).
-- DISTINCT: a redelivered row changes nothing, so it reads the period's rows as delivered.
SELECT DISTINCT c.order_id
FROM period_events AS c
WHERE c.type = 'track'
  AND c.event IN ('Order Cancelled', 'Order Refunded')
  AND c.order_id <> c.message_id
  AND (c.event = 'Order Cancelled' OR (c.revenue IS NULL AND CARDINALITY(c.products) = 0))
