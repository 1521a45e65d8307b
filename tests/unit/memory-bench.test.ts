/**
 * The memory bench's arithmetic (bench/memory.ts prints the figures; no test asserts them): reading RSS
 * from /proc, spreading connections over client processes and loopback addresses so none runs out of
 * ephemeral ports, and telling growth from noise.
 */
import { describe, expect, test } from "bun:test";
import {
  fileLimit,
  growth,
  hardFileLimit,
  median,
  PER_ADDRESS,
  perUnitBytes,
  planClients,
  reachableLevels,
  rssKb,
} from "../../bench/memory.ts";

describe("memory bench", () => {
  test("RSS comes from the VmRSS line, and this process has one", async () => {
    expect(rssKb("Name:\tbun\nVmPeak:\t  9000 kB\nVmRSS:\t   64512 kB\nThreads:\t4\n")).toBe(64512);
    expect(() => rssKb("Name:\tbun\n")).toThrow(/VmRSS/);
    expect(rssKb(await Bun.file("/proc/self/status").text())).toBeGreaterThan(0);
  });

  test("bytes per unit beyond the base", () => {
    expect(perUnitBytes(63_000, 63_000 + 40_000, 10_000)).toBe(4096);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  test("clients: at most perClient each, never two addresses in one, every connection planned once", () => {
    const plans = planClients(10_000, 50_000, 10_000);
    expect(plans).toEqual([
      { count: 10_000, host: "127.0.0.1" },
      { count: 10_000, host: "127.0.0.2" },
      { count: 10_000, host: "127.0.0.2" },
      { count: 10_000, host: "127.0.0.3" },
    ]);
    const odd = planClients(0, 47_000, 15_000);
    expect(odd.reduce((a, p) => a + p.count, 0)).toBe(47_000);
    const perHost = new Map<string, number>();
    for (const p of odd) perHost.set(p.host, (perHost.get(p.host) ?? 0) + p.count);
    expect([...perHost.values()].every((n) => n <= PER_ADDRESS)).toBe(true);
    expect(odd.every((p) => p.count > 0 && p.count <= 15_000)).toBe(true);
    expect(planClients(5, 5, 10)).toEqual([]);
    expect(() => planClients(0, 10, 0)).toThrow();
    expect(() => planClients(0, 255 * PER_ADDRESS, PER_ADDRESS)).toThrow(/loopback addresses/);
  });

  test("growth: flat after the warm-up is none, a steady climb shows in the slope", () => {
    const flat = growth([
      [100_000, 80_000],
      [200_000, 80_400],
      [300_000, 79_800],
      [400_000, 80_100],
      [500_000, 80_300],
      [600_000, 79_900],
    ]);
    expect(flat.totalKb).toBe(-100);
    // Second half: 80,100 → 80,300 → 79,900 kB, a least-squares slope of −100 kB per 100k requests.
    expect(flat.slopeKbPer100k).toBeCloseTo(-100, 6);
    const leak = growth(
      Array.from({ length: 10 }, (_, i) => [(i + 1) * 100_000, 80_000 + i * 1000] as [number, number]),
    );
    expect(leak.totalKb).toBe(9000);
    expect(leak.slopeKbPer100k).toBeCloseTo(1000, 6);
    expect(() => growth([[1, 1]])).toThrow();
  });

  test("open files: the limit covers the sockets and the rest; levels beyond the hard limit give way to the largest that fits", async () => {
    expect(fileLimit(50_000)).toBeGreaterThan(50_000);
    const limits =
      "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 20000                files\n";
    expect(hardFileLimit(limits)).toBe(20_000);
    expect(hardFileLimit(limits.replace("20000", "unlimited"))).toBe(Number.POSITIVE_INFINITY);
    expect(hardFileLimit(await Bun.file("/proc/self/limits").text())).toBeGreaterThan(0);
    expect(() => hardFileLimit("Max processes 10 10")).toThrow();
    expect(reachableLevels([50_000, 10_000], 20_000)).toEqual({ levels: [10_000, 19_000], cut: [50_000] });
    expect(reachableLevels([10_000, 50_000], 1_048_576)).toEqual({ levels: [10_000, 50_000], cut: [] });
    expect(reachableLevels([10_000], 10_100)).toEqual({ levels: [9_000], cut: [10_000] });
    expect(fileLimit(19_000)).toBeLessThanOrEqual(20_000);
  });
});
