/**
 * A port for a loopback listener the code under test opens itself (a fixed redirect URI): random,
 * below Linux's ephemeral range (32768+) so no outgoing connection of another suite holds it.
 */
export function loopbackPort(): number {
  return 20000 + Math.floor(Math.random() * 12000);
}
