export { WebhookNotifier, type WebhookNotifierOptions, type NotifierStats, type Severity } from './webhook.ts';
export { DEFAULT_TOLERANCE_S, SIGNATURE_HEADER, signWebhook, verifyWebhookSignature, type SignatureCheck } from './signature.ts';
