import { describe, expect, it } from 'vitest';
import { classifyAttachment, imageRefsOf, isMediaHost, type MessageImages } from '../../src/bots/discord/image-refs.js';
import { autoScanJob, interactionScanJob } from '../../src/bots/discord/scan-requests.js';
import { settingsSchema } from '../../src/bots/shared/guild-settings.js';
import { scanJobSchema } from '../../src/queue/scan-job.js';

const CDN = 'https://cdn.discordapp.com/attachments/10/20';
const HOSTS = ['cdn.discordapp.com', 'media.discordapp.net'];
const all = { scanEmbeds: true, stickers: true, mediaHosts: HOSTS };

function message(parts: Partial<MessageImages>): MessageImages {
  return { attachments: [], embeds: [], stickers: [], ...parts };
}

describe('imageRefsOf', () => {
  it('takes image attachments by content type, or by extension when the type is missing', () => {
    const refs = imageRefsOf(
      message({
        attachments: [
          { id: '1', name: 'a.png', url: `${CDN}/a.png`, size: 10, contentType: 'image/png' },
          { id: '2', name: 'b.JPG', url: `${CDN}/b.JPG`, size: 20, contentType: null },
          { id: '3', name: 'notes.txt', url: `${CDN}/notes.txt`, size: 5, contentType: 'text/plain' },
          { id: '4', name: 'clip.mp4', url: `${CDN}/clip.mp4`, size: 5, contentType: 'video/mp4' },
          { id: '5', name: 'phone.heic', url: `${CDN}/phone.heic`, size: 30, contentType: 'image/heic' },
          { id: '6', name: 'elsewhere.png', url: 'https://evil.example/x.png', size: 1, contentType: 'image/png' },
        ],
      }),
      { scanEmbeds: false, stickers: false, mediaHosts: HOSTS },
    );
    expect(refs.map((r) => [r.key, r.supported])).toEqual([
      ['1', true],
      ['2', true],
      ['5', false],
    ]);
    expect(refs[0]).toMatchObject({ kind: 'attachment', fileName: 'a.png', size: 10, contentType: 'image/png' });
  });

  it('takes image embeds through Discord’s media proxy, skips clips, and only when enabled', () => {
    const embeds = [
      { type: 'image', url: 'https://example.com/pic.webp', thumbnail: { url: 'https://example.com/pic.webp', proxyURL: 'https://media.discordapp.net/external/abc/pic.webp' } },
      { type: 'gifv', url: 'https://tenor.com/x', thumbnail: { url: 'https://media.tenor.com/x.png', proxyURL: 'https://media.discordapp.net/external/t/x.png' } },
      { type: 'rich', image: { url: 'https://example.com/big.png', proxyURL: 'https://media.discordapp.net/external/def/big.png' } },
      { type: 'rich', image: { url: 'https://example.com/unproxied.png' } },
    ];
    expect(imageRefsOf(message({ embeds }), { ...all, scanEmbeds: false })).toEqual([]);
    const refs = imageRefsOf(message({ embeds }), all);
    expect(refs.map((r) => [r.kind, r.key, r.url, r.fileName])).toEqual([
      ['embed', 'e0', 'https://media.discordapp.net/external/abc/pic.webp', 'pic.webp'],
      ['embed', 'e2', 'https://media.discordapp.net/external/def/big.png', 'big.png'],
    ]);
  });

  it('takes stickers only when enabled, marking Lottie ones unsupported, and lists each URL once', () => {
    const stickers = [
      { id: '7', name: 'wave', format: 1, url: 'https://media.discordapp.net/stickers/7.png' },
      { id: '8', name: 'dance', format: 3, url: 'https://media.discordapp.net/stickers/8.json' },
    ];
    const attachments = [
      { id: '1', name: 'a.png', url: `${CDN}/a.png`, size: 1, contentType: 'image/png' },
      { id: '2', name: 'a-again.png', url: `${CDN}/a.png`, size: 1, contentType: 'image/png' },
    ];
    expect(imageRefsOf(message({ stickers, attachments }), { ...all, stickers: false }).map((r) => r.key)).toEqual(['1']);
    expect(imageRefsOf(message({ stickers, attachments }), all).map((r) => [r.key, r.supported])).toEqual([
      ['1', true],
      ['s7', true],
      ['s8', false],
    ]);
  });

  it('classifies and checks hosts strictly', () => {
    expect(classifyAttachment({ name: 'x', contentType: 'image/svg+xml' })).toEqual({ image: true, supported: false });
    expect(classifyAttachment({ name: 'x.gif', contentType: 'application/octet-stream' })).toEqual({ image: true, supported: true });
    expect(isMediaHost('https://cdn.discordapp.com.evil.example/a.png', HOSTS)).toBe(false);
    expect(isMediaHost('ftp://cdn.discordapp.com/a.png', HOSTS)).toBe(false);
    expect(isMediaHost('https://CDN.discordapp.com/a.png', HOSTS)).toBe(true);
  });
});

describe('scan jobs', () => {
  const ref = { kind: 'attachment' as const, key: '99', url: `${CDN}/a.png`, fileName: 'a.png', size: 10, contentType: 'image/png', supported: true };

  it('builds valid automatic jobs with stable ids and the server’s choices', () => {
    const settings = settingsSchema.parse({ alertChannel: '555', alertThreshold: 0.8, backend: 'bijou' });
    const at = { guildId: '1', channelId: '2', messageId: '3' };
    const job = scanJobSchema.parse(autoScanJob(ref, at, settings, 1000));
    expect(job).toMatchObject({
      id: 'discord-1-2-3-99',
      attachmentId: '99',
      reply: { kind: 'message_reply', channelId: '2', messageId: '3' },
      alertThreshold: 0.8,
      alertChannelId: '555',
      backend: 'bijou',
      requestedBy: { trigger: 'auto' },
    });
    expect(autoScanJob(ref, at, settings, 2000).id).toBe(job.id);
    expect(autoScanJob(ref, at, { ...settings, mode: 'silent' }, 1).reply).toEqual({ kind: 'none' });
  });

  it('builds interaction jobs that answer through the interaction token', () => {
    const at = { interactionId: '77', applicationId: '88', token: 'tok', userId: '5', guildId: null, channelId: null };
    const job = scanJobSchema.parse(interactionScanJob(ref, at, 'slash_command', settingsSchema.parse({ alertChannel: '1' }), 1));
    expect(job).toMatchObject({
      id: 'discord-i-77-99',
      workspaceId: '@me',
      reply: { kind: 'interaction', applicationId: '88', interactionToken: 'tok', ephemeral: true },
      requestedBy: { trigger: 'slash_command', userId: '5' },
    });
    expect(job.alertChannelId).toBeUndefined();
  });
});
