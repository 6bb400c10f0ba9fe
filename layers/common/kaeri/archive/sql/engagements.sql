-- KPI input: delivery feedback and tracked clicks, tied to our message id.
SELECT
  e.ref_message_id AS message_id,
  CASE e.event
    WHEN 'Email Delivered' THEN 'delivered'
    WHEN 'Email Opened' THEN 'opened'
    WHEN 'Email Link Clicked' THEN 'clicked'
    WHEN 'Message Link Clicked' THEN 'clicked'
    WHEN 'Email Bounced' THEN 'bounced'
    WHEN 'Email Complained' THEN 'complained'
  END AS kind,
  e.ts AS at,
  e.customer_id
FROM events AS e
WHERE e.type = 'track'
  AND e.ref_message_id IS NOT NULL
  AND e.event IN (
    'Email Delivered', 'Email Opened', 'Email Link Clicked', 'Message Link Clicked', 'Email Bounced',
    'Email Complained'
  )
ORDER BY e.ts, e.message_id
