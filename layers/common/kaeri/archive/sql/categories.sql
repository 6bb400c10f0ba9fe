-- Each product's category: the latest one any event gave it (MAX_BY: a redelivered row changes nothing).
WITH seen AS (
  SELECT e.product_id, e.category, e.ts
  FROM period_events AS e
  WHERE e.product_id IS NOT NULL AND e.category IS NOT NULL
  UNION ALL
  SELECT l.product_id, l.category, o.ts
  FROM orders AS o
  CROSS JOIN UNNEST(o.products) AS t(l)
  WHERE l.product_id IS NOT NULL AND l.category IS NOT NULL
)
SELECT s.product_id, MAX_BY(s.category, s.ts) AS category
FROM seen AS s
GROUP BY s.product_id
ORDER BY s.product_id
