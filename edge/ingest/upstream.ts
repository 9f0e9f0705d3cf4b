import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../shared/index.ts';
import type { Principal } from './auth.ts';
import type { Intake } from './intake.ts';

/**
 * Intake from an existing broker (for example Mosquitto) instead of the embedded one: a persistent
 * session (clean: false, fixed client id) subscribed at QoS 1 to the v1 topics. The PUBACK that
 * matters is then ours to the upstream broker, and mqtt.js sends it only after `handleMessage`
 * calls back (lib/handlers/publish.js: customHandleAcks -> handleMessage -> puback), so the
 * callback comes after the commit, as on the embedded path. Messages not acked (commit failed, or
 * the gateway died) are redelivered by the upstream broker from the session.
 *
 * Authentication and topic ACLs are the upstream broker's; validation, detection and storage are
 * the same as for the embedded broker. mqtt.js hands messages over one at a time, so this path
 * commits per message: a few thousand messages/s (concentrator arrays multiply that by their size).
 */
export const UPSTREAM_TOPICS = ['meters/+/reading', 'meters/+/event', 'concentrators/+/readings'];

const UPSTREAM: Principal = { kind: 'anonymous', id: 'upstream' };

export class UpstreamIntake {
  private constructor(private readonly client: MqttClient) {}

  static start(o: { url: string; clientId: string; intake: Intake; logger: Logger }): UpstreamIntake {
    const client = mqtt.connect(o.url, { clientId: o.clientId, clean: false, reconnectPeriod: 1000, connectTimeout: 10_000, resubscribe: false });
    client.handleMessage = (packet, callback) => {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      o.intake.onPublish(UPSTREAM, o.clientId, packet.topic, payload, (err) => {
        if (err && err.name !== 'UnauthorizedPublish') {
          // Not committed: no PUBACK. Reconnect so that the upstream session redelivers it.
          o.logger.error({ err: err.message }, 'upstream message not committed; reconnecting for redelivery');
          client.stream.destroy();
          return;
        }
        callback();
      });
    };
    client.on('error', (err) => o.logger.warn({ err: err.message }, 'upstream MQTT error'));
    client.on('reconnect', () => o.logger.info('reconnecting to the upstream MQTT broker'));
    // Subscribed on every connect without a stored session; the start does not wait for the
    // upstream broker (readiness says whether it is connected).
    client.on('connect', (ack) => {
      if (ack.sessionPresent) return;
      client.subscribe(Object.fromEntries(UPSTREAM_TOPICS.map((t) => [t, { qos: 1 as const }])), (err) => {
        if (err) o.logger.error({ err: err.message }, 'upstream subscription failed');
        else o.logger.info({ url: o.url.replace(/\/\/[^@]*@/, '//***@'), topics: UPSTREAM_TOPICS }, 'subscribed to the upstream MQTT broker');
      });
    });
    return new UpstreamIntake(client);
  }

  get listening(): boolean {
    return this.client.connected;
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
