-- Order ids cancelled (Order Cancelled) or fully refunded (Order Refunded without an amount or lines).
SELECT DISTINCT c.order_id
FROM events AS c
WHERE c.type = 'track'
  AND c.order_id <> c.message_id
  AND (
    c.event = 'Order Cancelled'
    OR (c.event = 'Order Refunded' AND c.revenue IS NULL AND CARDINALITY(c.products) = 0)
  )
