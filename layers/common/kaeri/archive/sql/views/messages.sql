-- The message log of a period: each message's latest archived version.
SELECT
  d.shop_id, d.dt, d.message_id, d.customer_id, d.scenario_id, d.step_id, d.journey_id, d.variant,
  d.channel, d.status, d.skip_reason, d.created_at, d.sent_at, d.archived_at
FROM (
  SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.message_id ORDER BY a.archived_at DESC) AS version
  FROM archive_messages AS a
  WHERE a.shop_id = :shop_id AND a.dt BETWEEN :since_day AND :until_day
    AND a.created_at BETWEEN :since AND :until
) AS d
WHERE d.version = 1
