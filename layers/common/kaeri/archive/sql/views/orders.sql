-- Orders that stand: Order Completed, one per order id (the earliest), unless cancelled or fully refunded.
SELECT
  d.message_id, d.customer_id, d.order_id, d.ts, d.revenue, d.currency, d.products
FROM (
  SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.order_id ORDER BY o.ts, o.message_id) AS copy
  FROM events AS o
  WHERE o.type = 'track' AND o.event = 'Order Completed'
    AND o.order_id NOT IN (SELECT c.order_id FROM cancellations AS c)
) AS d
WHERE d.copy = 1
