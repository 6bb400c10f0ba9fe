// @segment/analytics-node, unmodified, against a Kaeri API: identify, page, Product Added and
// Order Completed in one batch. Usage: node node_sdk.mjs API_URL WRITE_KEY
import { Analytics } from "@segment/analytics-node";

const [host, writeKey] = process.argv.slice(2);
const analytics = new Analytics({ writeKey, host, maxEventsInBatch: 10, flushInterval: 60000, maxRetries: 1 });
const errors = [];
analytics.on("error", (err) => errors.push(err));

const userId = "node-u";
const timestamp = new Date("2025-01-06T09:00:00.000Z");
analytics.identify({ userId, anonymousId: "node-a", messageId: "node-identify", timestamp, traits: { email: "taro@example.com" } });
analytics.page({ userId, messageId: "node-page", timestamp, name: "Linen shirt" });
analytics.track({ userId, messageId: "node-add", timestamp, event: "Product Added", properties: { product_id: "p1", price: 5480, quantity: 1 } });
analytics.track({
  userId, messageId: "node-order", timestamp, event: "Order Completed",
  properties: { order_id: "node-o1", total: 5480, currency: "JPY", products: [{ product_id: "p1", price: 5480, quantity: 1 }] },
});
await analytics.closeAndFlush({ timeout: 30000 });
if (errors.length) {
  console.error(JSON.stringify(errors.map((e) => String(e?.reason ?? e?.message ?? e))));
  process.exit(1);
}
console.log("flushed");
