import { escapeXml } from '../xml-escape.ts';

/** A list in a response, written as repeated `<item>` (EC2), `<member>` or a named tag. */
export interface XmlList {
  readonly $list: string;
  readonly items: readonly XmlValue[];
}
export type XmlValue =
  string | number | boolean | null | undefined | Date | XmlList | { [key: string]: XmlValue };

export const list = (tag: string, items: readonly XmlValue[]): XmlList => ({ $list: tag, items });

/** Writes a value tree as XML elements; null and undefined fields are left out. */
export function toXml(value: XmlValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value !== 'object') return escapeXml(String(value));
  if (isList(value)) {
    return value.items.map((item) => `<${value.$list}>${toXml(item)}</${value.$list}>`).join('');
  }
  let out = '';
  for (const [key, child] of Object.entries(value)) {
    if (child === null || child === undefined) continue;
    out += `<${key}>${toXml(child)}</${key}>`;
  }
  return out;
}

function isList(value: object): value is XmlList {
  return '$list' in value;
}
