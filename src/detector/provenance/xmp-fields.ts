import type { TextEntry } from './container-metadata.js';
import { LIMITS } from './limits.js';

export interface XmpProperty {
  /** Qualified name as written, e.g. `Iptc4xmpExt:DigitalSourceType`. */
  name: string;
  /** Text value: attribute value, rdf:resource, or element text (rdf:li items joined by newlines). */
  value: string;
  /** Raw inner XML of the element form (for structured values such as TC260:AIGC). */
  inner: string;
}

export interface XmpFindings {
  digitalSourceTypes: XmpProperty[];
  /** Tool names and free text that generators fill: CreatorTool, Software, descriptions, … */
  texts: TextEntry[];
  aigc: XmpProperty[];
}

const TEXT_PROPERTIES = ['CreatorTool', 'Software', 'softwareAgent', 'Credit', 'description', 'title', 'UserComment', 'ImageDescription', 'Make', 'Model'];
const MAX_HITS = 32;
/** How far past a property name its value is looked for; bounds every scan to hits × window. */
const WINDOW = 64 * 1024;

/**
 * Pulls the few XMP properties provenance cares about out of an XMP packet without a full XML
 * parser: property names are found with indexOf (prefix-agnostic, at most MAX_HITS each), and
 * values in attribute, element and rdf:resource form are read from a bounded window after each
 * hit. Linear in the packet size whatever the input; good enough for RDF/XML as tools write it.
 */
export function readXmp(packet: string): XmpFindings {
  const xml = packet.length > LIMITS.maxJsonBytes ? packet.slice(0, LIMITS.maxJsonBytes) : packet;
  const texts: TextEntry[] = [];
  for (const local of TEXT_PROPERTIES) {
    for (const p of findXmpProperty(xml, local)) {
      if (p.value) texts.push({ container: 'XMP', key: p.name, value: p.value });
    }
  }
  return {
    digitalSourceTypes: [...findXmpProperty(xml, 'DigitalSourceType'), ...findXmpProperty(xml, 'DigitalSourceFileType')],
    texts,
    aigc: findXmpProperty(xml, 'AIGC'),
  };
}

export function findXmpProperty(xml: string, localName: string): XmpProperty[] {
  const out: XmpProperty[] = [];
  let from = 0;
  let hits = 0;
  while (hits < MAX_HITS) {
    const i = xml.indexOf(localName, from);
    if (i < 0) break;
    from = i + localName.length;
    let q = i;
    if (xml[i - 1] === ':') {
      q = i - 1;
      while (q > 0 && i - q < 64 && isNameChar(xml.charCodeAt(q - 1))) q--;
    }
    const lead = xml[q - 1];
    const name = xml.slice(q, from);
    const after = xml.slice(from, from + WINDOW);
    if (lead === '<' && /^[\s>/]/.test(after)) {
      hits++;
      const gt = after.indexOf('>');
      if (gt < 0) continue;
      const attrs = after.slice(0, gt);
      if (attrs.endsWith('/')) {
        const resource = /rdf:resource\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(attrs);
        if (resource) out.push({ name, value: decodeXmlEntities(resource[1] ?? resource[2] ?? ''), inner: '' });
        continue;
      }
      const close = after.indexOf(`</${name}>`, gt);
      if (close < 0) continue;
      const inner = after.slice(gt + 1, close);
      out.push({ name, value: elementText(inner), inner });
    } else if (lead !== undefined && /\s/.test(lead)) {
      const m = /^\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(after);
      if (!m) continue;
      hits++;
      out.push({ name, value: decodeXmlEntities(m[1] ?? m[2] ?? ''), inner: '' });
    }
  }
  return out;
}

function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 46;
}

/** Element text with tags removed; rdf:li items end up on their own lines. Linear, no regex. */
function elementText(inner: string): string {
  let out = '';
  let inTag = false;
  let tag = '';
  for (const ch of inner) {
    if (inTag) {
      if (ch === '>') {
        inTag = false;
        if (/^\/?rdf:li\b/.test(tag) && out.length > 0 && !out.endsWith('\n')) out += '\n';
        tag = '';
      } else if (tag.length < 16) {
        tag += ch;
      }
    } else if (ch === '<') {
      inTag = true;
    } else {
      out += ch;
    }
  }
  return decodeXmlEntities(out).trim();
}

export function decodeXmlEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|quot|amp|lt|gt|apos);/g, (_, e: string) => {
    if (e === 'quot') return '"';
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'apos') return "'";
    const code = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}
