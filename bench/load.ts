/**
 * A lean client for the footprint benchmark: one TCP connection, a reused read buffer, and the
 * end of a legacy response found by its last bytes (`LF } LF`), so that the client costs as
 * little CPU as possible on the same machine as the server it measures.
 *
 * @module
 */

const encoder = new TextEncoder();
const LF = 0x0a;
const CLOSE_BRACE = 0x7d;

/** One persistent connection to a lepd-compatible server. */
export class LoadClient {
  readonly #conn: Deno.TcpConn;
  #buffer = new Uint8Array(1 << 20);

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Connects to `host:port`. */
  static async connect(hostname: string, port: number): Promise<LoadClient> {
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return new LoadClient(conn);
  }

  /** The bytes of a legacy request for `method`, as LEPV sends it. */
  static request(method: string): Uint8Array {
    return encoder.encode(`{"method": "${method}"}`);
  }

  /**
   * Sends one request and reads its whole legacy response; returns the response's length.
   *
   * @throws {Error} when the connection ends first
   */
  async call(request: Uint8Array): Promise<number> {
    let offset = 0;
    while (offset < request.length) offset += await this.#conn.write(request.subarray(offset));
    let length = 0;
    while (true) {
      if (length === this.#buffer.length) {
        const bigger = new Uint8Array(this.#buffer.length * 2);
        bigger.set(this.#buffer);
        this.#buffer = bigger;
      }
      const count = await this.#conn.read(this.#buffer.subarray(length));
      if (count === null) throw new Error("The server closed the connection before a response");
      length += count;
      if (
        length >= 3 && this.#buffer[length - 1] === LF &&
        this.#buffer[length - 2] === CLOSE_BRACE && this.#buffer[length - 3] === LF
      ) {
        return length;
      }
    }
  }

  /** The text of the last response (for checks, not for timing). */
  lastText(length: number): string {
    return new TextDecoder().decode(this.#buffer.subarray(0, length));
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}
