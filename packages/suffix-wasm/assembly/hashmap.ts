// Open-addressing hash map from u64 keys to u32 values, in unmanaged memory.
//
// Each tree keeps two, their keys packed into a u64:
//   edges      (parent node, first token) -> child node, for the children
//              of nodes with many of them (see tree.ts)
//   sequences  (sequence id)              -> sequence record
// (and the integrity checker a third, node -> visits, while it runs).
// Endpoint records need no map: they are linked into lists on their node and
// sequence. One flat table for all of a tree's edges beats one small map per
// node on memory and locality. Linear probing with backward-shift deletion
// keeps probe chains short without tombstones, so churn (millions of inserts
// and deletes) never degrades lookups.

// Slot layout: key u64 at +0, value u32 at +8, 4 bytes padding.
const SLOT: usize = 16;
// No real key is all ones: node pointers are far below 2^32 - 1.
export const EMPTY: u64 = 0xFFFFFFFFFFFFFFFF;
// Values are pointers or positive counts, so 0 can mean "absent".
export const NOT_FOUND: u32 = 0;

@unmanaged
export class HashMap {
  slots: usize;
  mask: u32;
  size: u32;
}

// Fibonacci hashing: multiply by 2^64 / phi, keep the high bits.
@inline
function slotOf(map: HashMap, key: u64): u32 {
  return <u32>((key * 0x9E3779B97F4A7C15) >> 32) & map.mask;
}

function allocSlots(capacity: u32): usize {
  const bytes = <usize>capacity * SLOT;
  const slots = heap.alloc(bytes);
  for (let i: usize = 0; i < bytes; i += SLOT) store<u64>(slots + i, EMPTY);
  return slots;
}

export function mapNew(capacity: u32): HashMap {
  const map = changetype<HashMap>(heap.alloc(offsetof<HashMap>()));
  map.slots = allocSlots(capacity);
  map.mask = capacity - 1;
  map.size = 0;
  return map;
}

export function mapFree(map: HashMap): void {
  heap.free(map.slots);
  heap.free(changetype<usize>(map));
}

export function mapBytes(map: HashMap): usize {
  return (<usize>map.mask + 1) * SLOT + offsetof<HashMap>();
}

// Slot access for walking a whole table (integrity checks): `mapCapacity`
// slots, each a key (EMPTY when unused) and its value.
export function mapCapacity(map: HashMap): u32 {
  return map.mask + 1;
}
export function mapKeyAt(map: HashMap, i: u32): u64 {
  return load<u64>(map.slots + (<usize>i << 4));
}
export function mapValueAt(map: HashMap, i: u32): u32 {
  return load<u32>(map.slots + (<usize>i << 4), 8);
}

export function mapGet(map: HashMap, key: u64): u32 {
  const slots = map.slots;
  const mask = map.mask;
  let i = slotOf(map, key);
  while (true) {
    const p = slots + (<usize>i << 4);
    const k = load<u64>(p);
    if (k == key) return load<u32>(p, 8);
    if (k == EMPTY) return NOT_FOUND;
    i = (i + 1) & mask;
  }
}

// Insert or overwrite.
export function mapSet(map: HashMap, key: u64, value: u32): void {
  // Keep the load factor at or below 1/2.
  if ((map.size + 1) << 1 > map.mask + 1) grow(map);
  const slots = map.slots;
  const mask = map.mask;
  let i = slotOf(map, key);
  while (true) {
    const p = slots + (<usize>i << 4);
    const k = load<u64>(p);
    if (k == key) {
      store<u32>(p, value, 8);
      return;
    }
    if (k == EMPTY) {
      store<u64>(p, key);
      store<u32>(p, value, 8);
      map.size++;
      return;
    }
    i = (i + 1) & mask;
  }
}

export function mapDelete(map: HashMap, key: u64): bool {
  const slots = map.slots;
  const mask = map.mask;
  let i = slotOf(map, key);
  while (true) {
    const p = slots + (<usize>i << 4);
    const k = load<u64>(p);
    if (k == EMPTY) return false;
    if (k == key) break;
    i = (i + 1) & mask;
  }
  // Backward-shift: pull later entries of the probe chain into the hole so
  // every remaining key stays reachable from its home slot.
  let hole = i;
  let j = (i + 1) & mask;
  while (true) {
    const pj = slots + (<usize>j << 4);
    const kj = load<u64>(pj);
    if (kj == EMPTY) break;
    const home = slotOf(map, kj);
    // Move kj into the hole unless its home lies cyclically in (hole, j].
    const distHole = (hole - home) & mask;
    const distJ = (j - home) & mask;
    if (distHole < distJ) {
      const ph = slots + (<usize>hole << 4);
      store<u64>(ph, kj);
      store<u32>(ph, load<u32>(pj, 8), 8);
      hole = j;
    }
    j = (j + 1) & mask;
  }
  store<u64>(slots + (<usize>hole << 4), EMPTY);
  map.size--;
  return true;
}

// Moves every entry into a fresh table of `capacity` slots.
function rehash(map: HashMap, capacity: u32): void {
  const oldSlots = map.slots;
  const oldCap = <usize>map.mask + 1;
  map.slots = allocSlots(capacity);
  map.mask = capacity - 1;
  map.size = 0;
  for (let i: usize = 0; i < oldCap; i++) {
    const p = oldSlots + (i << 4);
    const k = load<u64>(p);
    if (k != EMPTY) mapSet(map, k, load<u32>(p, 8));
  }
  heap.free(oldSlots);
}

function grow(map: HashMap): void {
  rehash(map, (map.mask + 1) << 1);
}

// Shrink a nearly empty table (after a tree lost most of its sequences) so
// memory follows the live size instead of the historical peak.
export function mapMaybeShrink(map: HashMap, minCapacity: u32): void {
  const cap = map.mask + 1;
  if (cap <= minCapacity || map.size << 3 > cap) return;
  let newCap = minCapacity;
  while (newCap < map.size << 2) newCap <<= 1;
  rehash(map, newCap);
}
