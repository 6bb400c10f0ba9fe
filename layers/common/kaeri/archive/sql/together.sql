-- "Bought together": for each product, the products most often in the same valid order (orders of at
-- most 50 distinct products), scored by co-occurrence / sqrt(orders of each); at least 2 orders shared.
WITH lines AS (
  SELECT DISTINCT o.order_id, l.product_id
  FROM orders AS o
  CROSS JOIN UNNEST(o.products) AS t(l)
  WHERE l.product_id IS NOT NULL
),
sized AS (
  SELECT x.order_id, x.product_id, COUNT(*) OVER (PARTITION BY x.order_id) AS size FROM lines AS x
),
small AS (
  SELECT s.order_id, s.product_id FROM sized AS s WHERE s.size <= 50
),
counts AS (
  SELECT s.product_id, COUNT(*) AS orders FROM small AS s GROUP BY s.product_id
),
pairs AS (
  SELECT a.product_id, b.product_id AS other_id, COUNT(*) AS together
  FROM small AS a
  JOIN small AS b ON a.order_id = b.order_id AND a.product_id <> b.product_id
  GROUP BY a.product_id, b.product_id
  HAVING COUNT(*) >= 2
),
scored AS (
  SELECT
    p.product_id,
    p.other_id,
    p.together / SQRT(CAST(ca.orders AS DOUBLE) * cb.orders) AS score
  FROM pairs AS p
  JOIN counts AS ca ON ca.product_id = p.product_id
  JOIN counts AS cb ON cb.product_id = p.other_id
)
SELECT r.product_id, r.other_id, r.score
FROM (
  SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.product_id ORDER BY s.score DESC, s.other_id) AS place
  FROM scored AS s
) AS r
WHERE r.place <= :together_n
ORDER BY r.product_id, r.score DESC, r.other_id
