import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IllegalDataAddressError, ModbusTcpClient } from '../../src/modbus/index.js';
import { loadGeneration, loadValue, parseLoadSpec } from '../../src/sim/load.js';
import { Simulator } from '../../src/sim/simulator.js';
import { waitFor } from '../helpers/wait.js';

describe('load device', { timeout: 20_000 }, () => {
  it('recovers the generation from any value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 247 }), fc.integer({ min: 0, max: 65535 }), fc.nat(), (unit, address, g) => {
        assert.equal(loadGeneration(unit, address, loadValue(unit, address, g)), g & 0xffff);
      }),
    );
  });

  it('serves N unit ids whose registers change together with a checkable pattern', async () => {
    const sim = new Simulator({ port: 0, load: { devices: 3, registers: 500, changeMs: 50 } });
    const { port } = await sim.start();
    const client = new ModbusTcpClient({ host: '127.0.0.1', port });
    try {
      const generations = new Set<number>();
      const generationOf1 = async (): Promise<number> => loadGeneration(1, 375, (await client.readHoldingRegisters(375, 1, { unitId: 1 }))[0]!);
      for (let i = 0; i < 6; i++) {
        const seen = await generationOf1();
        for (const unit of [1, 2, 3]) {
          const regs = await client.readHoldingRegisters(375, 125, { unitId: unit });
          const g = loadGeneration(unit, 375, regs[0]!);
          regs.forEach((v, k) => assert.equal(v, loadValue(unit, 375 + k, g), `unit ${unit} address ${375 + k}`));
          generations.add(g);
        }
        // The next round reads the next generation (one every 50 ms).
        await waitFor('the registers changed', async () => (await generationOf1()) !== seen, 2000, 5);
      }
      assert.ok(generations.size >= 4, `values changed over time (${generations.size} generations seen)`);
      await assert.rejects(client.readHoldingRegisters(0, 1, { unitId: 4 }), IllegalDataAddressError);
      await assert.rejects(client.readHoldingRegisters(450, 51), IllegalDataAddressError);
    } finally {
      await client.close();
      await sim.stop();
    }
  });

  it('parses DEVICES×REGISTERS', () => {
    assert.deepEqual(parseLoadSpec('10x1000'), { devices: 10, registers: 1000 });
    assert.deepEqual(parseLoadSpec('100×1000'), { devices: 100, registers: 1000 });
    assert.equal(parseLoadSpec('10by1000'), undefined);
  });
});
