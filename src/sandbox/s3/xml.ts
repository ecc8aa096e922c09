import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { escapeXml } from '../xml-escape.ts';
import { malformedXml } from './errors.ts';

export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  parseTagValue: false,
  trimValues: true,
});

export { escapeXml };

/** `<Name>value</Name>`, or nothing when the value is absent. */
export function tag(name: string, value: string | number | boolean | undefined | null): string {
  if (value === undefined || value === null) return '';
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** A response document with S3's namespace on its root element. */
export function xmlDocument(root: string, inner: string): string {
  return `${DECLARATION}<${root} xmlns="${S3_NAMESPACE}">${inner}</${root}>`;
}

/** An element's children as parsed: text, nested elements, or repeated elements. */
export type XmlNode = string | { [name: string]: XmlNode | XmlNode[] };

/**
 * Parses a request body that must be one `root` element. Anything else (not XML, another
 * root, no body) is S3's MalformedXML, as the real service answers.
 */
export function parseBody(body: Buffer, root: string): Record<string, XmlNode | XmlNode[]> {
  const text = body.toString('utf8');
  if (text.trim() === '' || XMLValidator.validate(text) !== true) throw malformedXml();
  const doc = parser.parse(text) as Record<string, unknown>;
  const keys = Object.keys(doc);
  if (keys.length !== 1 || keys[0] !== root) throw malformedXml();
  const top = doc[root];
  if (top === '') return {};
  if (typeof top !== 'object' || top === null || Array.isArray(top)) throw malformedXml();
  return top as Record<string, XmlNode | XmlNode[]>;
}

/** Refuses elements the operation does not define. */
export function onlyKnown(node: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(node)) {
    if (!known.includes(key)) throw malformedXml();
  }
}

/** A child that may appear at most once and holds text. */
export function text(node: Record<string, XmlNode | XmlNode[]>, name: string): string | undefined {
  const value = node[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw malformedXml();
  return value;
}

/** A child that may appear at most once and holds elements. */
export function child(
  node: Record<string, XmlNode | XmlNode[]>,
  name: string,
): Record<string, XmlNode | XmlNode[]> | undefined {
  const value = node[name];
  if (value === undefined) return undefined;
  if (value === '') return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw malformedXml();
  return value;
}

/** A child holding `true` or `false`, as S3's XML booleans are written. */
export function bool(node: Record<string, XmlNode | XmlNode[]>, name: string): boolean | undefined {
  const value = text(node, name);
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw malformedXml();
}
