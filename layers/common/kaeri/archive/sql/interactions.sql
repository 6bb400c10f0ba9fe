-- Recommender and prediction input: one row per (customer, product, kind) over the history window.
-- kind: view (Product Viewed), cart (Product Added), order (a line of a valid order); count is events
-- (views, cart adds: distinct message ids, so a redelivered row counts once) or distinct orders;
-- last_at the latest of them. Hash aggregates only (no window, no sort): the reader indexes the rows.
WITH touches AS (
  SELECT e.customer_id, e.product_id, e.event, e.message_id, MAX(e.ts) AS ts
  FROM period_events AS e
  WHERE e.type = 'track' AND e.event IN ('Product Viewed', 'Product Added') AND e.product_id IS NOT NULL
  GROUP BY e.customer_id, e.product_id, e.event, e.message_id
),
lines AS (
  SELECT o.customer_id, l.product_id, o.order_id, MAX(o.ts) AS ts
  FROM orders AS o
  CROSS JOIN UNNEST(o.products) AS t(l)
  WHERE l.product_id IS NOT NULL
  GROUP BY o.customer_id, l.product_id, o.order_id
)
SELECT
  t.customer_id,
  t.product_id,
  CASE t.event WHEN 'Product Viewed' THEN 'view' ELSE 'cart' END AS kind,
  COUNT(*) AS count,
  MAX(t.ts) AS last_at
FROM touches AS t
GROUP BY t.customer_id, t.product_id, t.event
UNION ALL
SELECT x.customer_id, x.product_id, 'order' AS kind, COUNT(*) AS count, MAX(x.ts) AS last_at
FROM lines AS x
GROUP BY x.customer_id, x.product_id
