/**
 * Image generators and generator front-ends as they name themselves in Software-like fields
 * (EXIF Software, XMP CreatorTool, PNG Software/Source, IPTC OriginatingProgram, C2PA claim
 * generators and software agents). Patterns are anchored on word boundaries and specific
 * spellings so that editors (Photoshop, Lightroom, GIMP) and cameras never match; they are
 * only applied to tool-name fields, never to captions, where a photo of a "midjourney" could
 * be described.
 */
const GENERATORS: [RegExp, string][] = [
  [/\bmidjourney\b/i, 'Midjourney'],
  [/\bdall[\s·._-]?e(?:[\s-]?[23])?\b/i, 'DALL·E'],
  [/\bgpt[\s-]?4o\b|\bgpt-image-\d/i, 'GPT-4o image generation'],
  [/\bsora\b/i, 'Sora'],
  [/\bfirefly\b/i, 'Adobe Firefly'],
  [/\bstable[\s_-]?diffusion\b|\bsdxl\b|\bstability\.?ai\b|\bdreamstudio\b/i, 'Stable Diffusion'],
  [/\bstable[\s_-]?cascade\b/i, 'Stable Cascade'],
  [/\bnovel\s?ai\b/i, 'NovelAI'],
  [/\bautomatic1111\b|\bstable diffusion web ?ui\b|\bsd\.next\b|\bsd-webui\b/i, 'AUTOMATIC1111 / SD WebUI'],
  [/\bcomfy\s?ui\b/i, 'ComfyUI'],
  [/\binvoke\s?ai\b/i, 'InvokeAI'],
  [/\bfooocus\b/i, 'Fooocus'],
  [/\bdiffusionbee\b/i, 'DiffusionBee'],
  [/\bdraw things\b/i, 'Draw Things'],
  [/\bbing image creator\b|\bimage creator from (?:microsoft )?designer\b|\bmicrosoft designer\b/i, 'Microsoft Image Creator'],
  [/\bgoogle imagen\b|\bimagen[\s-]?[1-4]\b/i, 'Google Imagen'],
  [/\bnano[\s-]?banana\b/i, 'Nano Banana (Gemini image)'],
  [/\bideogram\b/i, 'Ideogram'],
  [/\bleonardo[\s.]?ai\b/i, 'Leonardo.Ai'],
  [/\bplayground\s?(?:ai|v[1-3])\b/i, 'Playground AI'],
  [/\bflux\.1\b|\bflux[\s-](?:pro|dev|schnell)\b|\bblack forest labs\b/i, 'FLUX'],
  [/\bkandinsky\b/i, 'Kandinsky'],
  [/\bnightcafe\b/i, 'NightCafe'],
  [/\bcraiyon\b/i, 'Craiyon'],
  [/\bdream by wombo\b|\bwombo dream\b/i, 'WOMBO Dream'],
  [/\bartbreeder\b/i, 'Artbreeder'],
  [/\bstarryai\b/i, 'StarryAI'],
  [/\brecraft(?:\.ai)?\b/i, 'Recraft'],
  [/\brunway\s?(?:ml|gen-?\d)\b/i, 'Runway'],
  [/\bmeta ai\b|\bimagine with meta\b/i, 'Meta AI'],
  [/\bgrok\b/i, 'Grok (xAI)'],
  [/\bhunyuan\b|混元/i, 'Tencent Hunyuan'],
  [/\bkolors\b|可图/i, 'Kolors'],
  [/\btongyi wanxiang\b|通义万相|\bwanx\b/i, 'Tongyi Wanxiang'],
  [/\bwenxin yige\b|文心一格/i, 'Wenxin Yige'],
  [/\bjimeng\b|即梦|\bdreamina\b/i, 'Jimeng / Dreamina'],
  [/\bdoubao\b|豆包/i, 'Doubao'],
  [/\bseaart\b|\btensor\.art\b|\bmage\.space\b/i, 'online SD service'],
];

/** The generator a tool-name field names, or undefined. */
export function matchGeneratorName(text: string): string | undefined {
  const sample = text.length > 4096 ? text.slice(0, 4096) : text;
  for (const [pattern, name] of GENERATORS) if (pattern.test(sample)) return name;
  return undefined;
}
