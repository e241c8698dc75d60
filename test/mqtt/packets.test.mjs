// Unit tests of MQTT packets (src/mqtt/packets.ts), run as the real ES5
// library build inside the Espruino emulation, in both string modes. Packets
// are byte strings (one char per byte), as a socket delivers them; every
// input to the parser is also fed byte by byte and in seeded random pieces,
// and must give the same events.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildFixture, loadBundle } from '../unit/library.mjs';
import { splitsOf } from '../fuzz/fuzz.mjs';

const CODE = await buildFixture('mqtt-packets');

/** Bytes as a byte string: text parts as UTF-8, arrays and Buffers as they are. */
const bytes = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p)))).toString('latin1');
/** A length-prefixed UTF-8 string (§1.5.3), as a Buffer. */
const prefixed = (text) => {
  const utf8 = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from([utf8.length >> 8, utf8.length & 255]), utf8]);
};

for (const mode of ['esp32', 'linux']) {
  describe(`MQTT packets (${mode})`, () => {
    const P = loadBundle(CODE, mode, 'mqtt-packets');
    const { NEED_MORE, PACKET, ERROR } = P;
    // Text as the interpreter holds it: UTF-8 bytes on a byte-string board, characters on the Unicode build.
    const text = (s) => (mode === 'esp32' ? bytes(s) : s);

    /** Feeds the pieces, calling next() after each until it needs more: [type, flags, body] per packet, ['error', why] last. */
    function run(pieces, max) {
      const parser = new P.PacketParser(max);
      const events = [];
      for (const piece of pieces) {
        parser.feed(piece);
        for (;;) {
          const result = parser.next();
          if (result === NEED_MORE) break;
          if (result === ERROR) {
            events.push(['error', parser.error]);
            assert.equal(parser.next(), ERROR, 'an error stays');
            return events;
          }
          assert.equal(result, PACKET);
          events.push([parser.type, parser.flags, parser.body]);
        }
      }
      return events;
    }

    /** The events of `input` fed whole, once every split of it gave the same. */
    function parse(input, max = 4096) {
      const expected = run([input], max);
      for (const pieces of splitsOf(input)) assert.deepEqual(run(pieces, max), expected, `split into ${pieces.length} pieces`);
      return expected;
    }

    test('CONNECT: protocol level 4, flags, keep-alive, client id, will, user name and password (§3.1)', () => {
      const packet = P.encodeConnect({ clientId: text('bö'), keepAlive: 60, clean: true, username: 'u', password: 'p', will: { topic: 'a/status', payload: 'offline', qos: 1, retain: true } });
      const body = bytes([0, 4], 'MQTT', [4, 0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02, 0, 60], prefixed('bö'), prefixed('a/status'), prefixed('offline'), prefixed('u'), prefixed('p'));
      assert.equal(packet, bytes([0x10, Buffer.from(body, 'latin1').length]) + body);
      const bare = P.encodeConnect({ clientId: 'x', keepAlive: 0, clean: false });
      assert.equal(bare, bytes([0x10, 13, 0, 4], 'MQTT', [4, 0, 0, 0], prefixed('x')));
    });

    test('PUBLISH at QoS 0 and 1 with retain, a non-ASCII topic encoded once, DUP; lengths of 127, 128 and 16,384 bytes', () => {
      assert.equal(P.encodePublish(text('t/é'), 'hi', 0, false, 0), bytes([0x30, 8], prefixed('t/é'), 'hi'));
      const qos1 = P.encodePublish('t', 'x', 1, true, 258);
      assert.equal(qos1, bytes([0x33, 6], prefixed('t'), [1, 2], 'x'));
      assert.equal(P.markDuplicate(qos1), bytes([0x3b, 6], prefixed('t'), [1, 2], 'x'));
      for (const [length, header] of [[127, [127]], [128, [0x80, 1]], [16384, [0x80, 0x80, 1]]]) {
        const packet = P.encodePublish('t', 'p'.repeat(length - 3), 0, false, 0);
        assert.equal(packet.slice(1, 1 + header.length), bytes(header), `${length} bytes`);
        assert.deepEqual(parse(packet, 20000), [[3, 0, packet.slice(1 + header.length)]]);
      }
    });

    test('PUBACK, SUBSCRIBE (several filters at QoS 1), PINGREQ, DISCONNECT', () => {
      assert.equal(P.encodePuback(0x1234), bytes([0x40, 2, 0x12, 0x34]));
      assert.equal(P.encodeSubscribe(7, ['a/+', 'b/#'], 1), bytes([0x82, 14, 0, 7], prefixed('a/+'), [1], prefixed('b/#'), [1]));
      assert.equal(P.PINGREQ_PACKET, bytes([0xc0, 0]));
      assert.equal(P.DISCONNECT_PACKET, bytes([0xe0, 0]));
    });

    test('a stream of the packets a broker sends, split anywhere, gives the same packets', () => {
      const publish = P.encodePublish(text('cmd/é'), 'on', 1, false, 9);
      const stream = bytes([0x20, 2, 0, 0], [0x90, 3, 0, 1, 1], [0x40, 2, 0, 5], [0xd0, 0]) + publish + bytes([0x31, 4], prefixed('r'), 'x');
      const events = parse(stream);
      assert.deepEqual(events.map((e) => e[0]), [2, 9, 4, 13, 3, 3]);
      const body = events[4][2];
      assert.equal(P.publishTopic(body), bytes('cmd/é'));
      assert.equal(body.slice(P.payloadStart(body, 1)), 'on');
      assert.equal(P.readUint16(body, P.payloadStart(body, 1) - 2), 9);
      assert.equal(events[5][1], 1, 'retained');
      assert.equal(P.connackRefusal(events[0][2]), '');
      assert.equal(P.connackRefusal(bytes([0, 5])), 'broker refused the connection: not authorized');
      assert.equal(P.connackRefusal(bytes([0, 9])), 'broker refused the connection: return code 9');
    });

    test('malformed and oversized packets are errors, the oversized one as soon as its length is read', () => {
      const cases = [
        [bytes([0x20, 0xff, 0xff, 0xff, 0xff, 1]), /malformed remaining length/],
        [bytes([0x00, 0]), /packet type 0 is not one/],
        [bytes([0x10, 0]), /packet type 1 is not one/],
        [bytes([0x82, 0]), /packet type 8 with flags 2/],
        [bytes([0x20, 3, 0, 0, 0]), /packet type 2 of 3 bytes, not 2/],
        [bytes([0x40, 1, 0]), /packet type 4 of 1 bytes, not 2/],
        [bytes([0x90, 2, 0, 1]), /SUBACK of 2 bytes/],
        [bytes([0xd0, 1, 0]), /PINGRESP with a body/],
        [bytes([0x36, 3, 0, 1, 0x61]), /QoS 3/],
        [bytes([0x34, 5, 0, 1, 0x61, 0, 1]), /QoS 2/],
        [bytes([0x30, 1, 0]), /no topic/],
        [bytes([0x30, 4, 0, 9, 0x61, 0x62]), /shorter than its topic/],
        [bytes([0x32, 3, 0, 1, 0x61]), /shorter than its topic/],
        [bytes([0x30, 2, 0, 0]), /empty topic/],
      ];
      for (const [input, reason] of cases) {
        const events = parse(input);
        assert.equal(events.length, 1, JSON.stringify(events));
        assert.equal(events[0][0], 'error');
        assert.match(events[0][1], reason);
      }
      // 1 MB announced: refused from the header alone, with nothing of the body buffered.
      assert.deepEqual(run([bytes([0x30, 0x80, 0x80, 0x40])], 1024), [['error', 'packet of 1048576 bytes, over the limit of 1024']]);
      // A good packet before a bad one still comes out.
      assert.deepEqual(parse(bytes([0xd0, 0, 0xd0, 1, 0])), [[13, 0, ''], ['error', 'PINGRESP with a body']]);
    });

    test('topic filters: + is one level, a final # any number and the parent (§4.7)', () => {
      const cases = [
        ['a/b/c', 'a/b/c', true], ['a/+/c', 'a/b/c', true], ['a/+/c', 'a/b/d', false], ['a/+', 'a/b/c', false],
        ['a/#', 'a/b/c', true], ['a/#', 'a', true], ['a/b/#', 'a/b', true], ['#', 'x/y', true], ['a/#', 'b/a', false],
        ['+/+', '/finance', true], ['+', '/finance', false], ['/+', '/finance', true], ['a/+', 'a/', true], ['a/b', 'a/b/c', false],
        ['microserver/+/status', 'microserver/board-1/status', true], ['microserver/+/status', 'microserver/board-1/cmd/status', false],
      ];
      for (const [filter, topic, expected] of cases) assert.equal(P.topicMatches(filter, topic), expected, `${filter} ~ ${topic}`);
    });

    test('topic names and filters a broker would refuse (§4.7.1, §4.7.3)', () => {
      for (const topic of ['a', 'a/b', '/', 'a//b', 'é/x']) assert.equal(P.topicNameProblem(topic), '', topic);
      for (const topic of ['', 'a/#', '+', 'a/+/b', 'a#']) assert.notEqual(P.topicNameProblem(topic), '', topic);
      for (const filter of ['#', '+', 'a/+/b', 'a/#', '+/+', '/+', 'a/b']) assert.equal(P.topicFilterProblem(filter), '', filter);
      assert.equal(P.topicFilterProblem(''), 'the topic filter must be a non-empty string');
      assert.equal(P.topicFilterProblem('a/#/b'), '# must be the last level: a/#/b');
      for (const filter of ['a/b#', 'sport+', 'a/++', '##']) assert.equal(P.topicFilterProblem(filter), 'a wildcard (+ or #) must be a whole level: ' + filter);
    });
  });
}
