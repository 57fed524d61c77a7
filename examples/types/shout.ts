/** Upper-cases its input. Declared in another file, registered by name. */
export async function shout(text: string): Promise<string> {
  return text.toUpperCase();
}
