export { WebhookNotifier, type WebhookNotifierOptions, type NotifierStats, type Severity } from './webhook.ts';
