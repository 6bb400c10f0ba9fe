-- Headline KPIs of a period: orders, buyers, revenue (as sent, else the sum of lines), repeat buyers.
WITH per_order AS (
  SELECT
    o.customer_id,
    COALESCE(
      o.revenue,
      (SELECT SUM(l.price * l.quantity) FROM UNNEST(o.products) AS t(l))
    ) AS revenue
  FROM orders AS o
),
per_buyer AS (
  SELECT p.customer_id, COUNT(*) AS orders FROM per_order AS p GROUP BY p.customer_id
)
SELECT
  (SELECT COUNT(*) FROM per_order) AS orders,
  (SELECT COUNT(*) FROM per_buyer) AS buyers,
  (SELECT COALESCE(SUM(p.revenue), 0) FROM per_order AS p) AS revenue,
  (SELECT COUNT(*) FROM per_buyer AS b WHERE b.orders >= 2) AS repeat_buyers
