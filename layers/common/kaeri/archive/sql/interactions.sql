-- Recommender and prediction input: one row per (customer, product, kind) over the history window.
-- kind: view (Product Viewed), cart (Product Added), order (a line of a valid order); count is events
-- (views, cart adds) or distinct orders; last_at the latest of them.
WITH touches AS (
  SELECT
    e.customer_id,
    e.product_id,
    CASE e.event WHEN 'Product Viewed' THEN 'view' ELSE 'cart' END AS kind,
    e.message_id AS occasion,
    e.ts
  FROM events AS e
  WHERE e.type = 'track' AND e.event IN ('Product Viewed', 'Product Added') AND e.product_id IS NOT NULL
  UNION ALL
  SELECT o.customer_id, l.product_id, 'order' AS kind, o.order_id AS occasion, o.ts
  FROM orders AS o
  CROSS JOIN UNNEST(o.products) AS t(l)
  WHERE l.product_id IS NOT NULL
)
SELECT
  t.customer_id,
  t.product_id,
  t.kind,
  COUNT(DISTINCT t.occasion) AS count,
  MAX(t.ts) AS last_at
FROM touches AS t
GROUP BY t.customer_id, t.product_id, t.kind
ORDER BY t.customer_id, t.product_id, t.kind
