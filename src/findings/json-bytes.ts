/** The bytes of JSON text the findings readers look for, and JSON's white space. */

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;
export const NEWLINE = 0x0a;

/** JSON's white space: space, newline, carriage return, tab. */
export const isSpace = (c: number) => c === 0x20 || c === NEWLINE || c === 0x0d || c === 0x09;
