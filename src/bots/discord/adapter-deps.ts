import type { Logger } from 'pino';
import type { SettingsStore } from '../shared/guild-settings.js';
import type { EnqueuedScan } from '../../queue/scan-producer.js';
import type { ScanJobInput } from '../../queue/scan-job.js';
import type { AlertStore } from './alert-store.js';

/** The queue's producer as the adapter uses it (ScanProducer fits). */
export interface ScanEnqueuer {
  enqueue(input: ScanJobInput): Promise<EnqueuedScan>;
}

/** What the gateway-side handlers share. */
export interface AdapterDeps {
  producer: ScanEnqueuer;
  settings: SettingsStore;
  alerts: AlertStore;
  logger: Logger;
  /** DISCORD_MEDIA_HOSTS. */
  mediaHosts: readonly string[];
  /** Intake's byte limit: larger attachments are refused before queueing. */
  maxBytes: number;
  now: () => number;
  /** Whether the gateway session has the Message Content intent (automatic scans need it). */
  messageContent: () => boolean;
}
