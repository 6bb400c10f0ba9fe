-- KPI input: the period's valid orders with their lines (one row per order).
SELECT o.customer_id, o.order_id, o.ts AS at, o.revenue, o.currency, o.products
FROM orders AS o
ORDER BY o.ts, o.order_id
