-- One shop's archived event rows of a period, as delivered: a retried delivery appears more than once.
-- Only aggregates that a repeated row cannot change (COUNT(DISTINCT message_id), MAX, MAX_BY) read it;
-- everything else reads `events`, one row per message id.
SELECT
  a.shop_id, a.dt, a.message_id, a.type, a.event, a.customer_id, a.user_id, a.anonymous_id, a.ts,
  a.received_at, a.source, a.product_id, a.category, a.order_id, a.revenue, a.currency,
  a.ref_message_id, a.products, a.properties, a.traits
FROM archive_events AS a
WHERE a.shop_id = :shop_id AND a.dt BETWEEN :since_day AND :until_day AND a.ts BETWEEN :since AND :until
