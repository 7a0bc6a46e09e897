#!/usr/bin/env node
// Tier C's emulated board: the official MicroPython rp2 image on rp2040js (an
// instruction-level RP2040 at 125 MHz), whose I2C bus, charge-enable pin and temperature
// sensor are answered by pogodock's simulated dock on the Python side
// (host/pogodock/rp2board.py starts this file and serves the bus).
//
//   node board.mjs --fs FS.img --i2c 0 --sda 4 --scl 5 --charge-gpio 22 \
//       --bus-req FD --bus-ans FD [--until-s S] [--no-wire]
//
// The image and the RP2040 B1 boot ROM come from the files named by POGODOCK_RP2_IMAGE
// and POGODOCK_RP2_BOOTROM. stdin carries what the USB host sends to the CDC port,
// stdout what the board sends back; stderr one line per message, prefixed "rp2emu:".
//
// The bus protocol, one text line per message on the request pipe (emulated time first,
// integer nanoseconds since power-on):
//   C t addr r|w      a START and address byte were clocked: the Python side answers
//                     on the answer pipe with "ack hexdata temp_code" (ack 1 or 0; for a
//                     read, the bytes the device sends; the ADC code of the temperature
//                     sensor) and the emulator waits for it, so the dock's time follows
//                     the emulator's;
//   W t addr hex      the bytes a write transaction carried, at its STOP or RESTART;
//   G t gpio level    the charge-enable pin changed;
//   F t ns            the CPU stalled this long for a flash erase or program;
//   S t busy wait     running totals: ns the core executed, ns it slept in WFI/WFE;
//   E t               the end.
// Only C waits for an answer: everything else is in time order before the next C.

import fs from 'fs';
import path from 'path';
import { fileURLToPath, pathToFileURL } from 'url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const say = (m) => process.stderr.write(`rp2emu: ${m}\n`);
const fail = (m) => {
  say(m);
  process.exit(2);
};

const RJS = path.join(HERE, 'node_modules', 'rp2040js', 'dist', 'esm', 'index.js');
if (!fs.existsSync(RJS)) fail(`rp2040js is not installed in ${HERE}/node_modules (run \`make rp2emu\`, i.e. npm ci there)`);
const { RP2040, USBCDC, ConsoleLogger, LogLevel } = await import(pathToFileURL(RJS).href);
const { SimulationClock } = await import(pathToFileURL(path.join(path.dirname(RJS), 'clock', 'simulation-clock.js')).href);

// ------------------------------------------------------------------ options
const opt = { fs: null, i2c: 0, sda: 4, scl: 5, chargeGpio: 22, busReq: -1, busAns: -1, untilS: 0, wire: true };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const next = () => {
      if (i + 1 >= a.length) fail(`${a[i]} needs a value`);
      return a[++i];
    };
    switch (a[i]) {
      case '--fs': opt.fs = next(); break;
      case '--i2c': opt.i2c = parseInt(next(), 10); break;
      case '--sda': opt.sda = parseInt(next(), 10); break;
      case '--scl': opt.scl = parseInt(next(), 10); break;
      case '--charge-gpio': opt.chargeGpio = parseInt(next(), 10); break;
      case '--bus-req': opt.busReq = parseInt(next(), 10); break;
      case '--bus-ans': opt.busAns = parseInt(next(), 10); break;
      case '--until-s': opt.untilS = parseFloat(next()); break;
      case '--no-wire': opt.wire = false; break;
      default: fail(`unknown option ${a[i]}`);
    }
  }
  if (opt.busReq < 0 || opt.busAns < 0) fail('--bus-req and --bus-ans (pipe file descriptors) are required');
}

function needFile(variable, what) {
  const p = process.env[variable];
  if (!p) fail(`${variable} is not set: it must name ${what}`);
  if (!fs.existsSync(p)) fail(`${variable}=${p} does not exist: it must name ${what}`);
  return fs.readFileSync(p);
}
const IMAGE = needFile('POGODOCK_RP2_IMAGE', "MicroPython's RPI_PICO v1.28.0 firmware .bin (micropython.org/download/RPI_PICO)");
const BOOTROM = needFile('POGODOCK_RP2_BOOTROM', "the RP2040 B1 boot ROM image, 16384 bytes (raspberrypi/pico-bootrom)");
if (BOOTROM.length !== 16384) fail(`POGODOCK_RP2_BOOTROM holds ${BOOTROM.length} bytes, not the 16384 of the RP2040 B1 boot ROM`);

// RPI_PICO: 2 MB of flash, the filesystem in its last 1408 KB (ports/rp2/boards/RPI_PICO).
const FS_START = 0xa0000;
const FS_END = 0x200000;
const CYCLE_NS = 8; // 125 MHz, what MicroPython v1.28 sets
// Winbond W25Q16JV (the Pico's flash chip), typical: sector erase 45 ms, page program 0.4 ms.
const ERASE_NS_PER_SECTOR = 45e6;
const PROGRAM_NS_PER_PAGE = 0.4e6;

// ------------------------------------------------------------------ the bus bridge
const clockRef = { clock: new SimulationClock() };
const now = () => Math.round(clockRef.clock.nanos);
let reqBuf = '';
function send(line) {
  reqBuf += line + '\n';
  if (reqBuf.length > 4096) flushReq();
}
function flushReq() {
  if (!reqBuf) return;
  const b = Buffer.from(reqBuf, 'latin1');
  reqBuf = '';
  let off = 0;
  while (off < b.length) off += fs.writeSync(opt.busReq, b, off, b.length - off);
}
const ansChunk = Buffer.alloc(256);
let ansRest = '';
function ask(line) {
  send(line);
  flushReq();
  for (;;) {
    const nl = ansRest.indexOf('\n');
    if (nl >= 0) {
      const a = ansRest.slice(0, nl);
      ansRest = ansRest.slice(nl + 1);
      return a;
    }
    let n;
    try {
      n = fs.readSync(opt.busAns, ansChunk, 0, ansChunk.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      throw e;
    }
    if (n === 0) {
      say('the simulated dock went away');
      process.exit(0);
    }
    ansRest += ansChunk.toString('latin1', 0, n);
  }
}

// ------------------------------------------------------------------ the board
const stats = { busyNs: 0, waitNs: 0, stallNs: 0 };
let mcu = null;
let cdc = null;
let resetWanted = false;
let wdReason = 0;
let usbOut = null; // the CDC OUT endpoint the device armed, waiting for host bytes
const hostBytes = [];

function romTable(rom16) {
  // RP2040 datasheet 2.8.3: the halfword at 0x14 points to (code, function) pairs.
  const fns = new Map();
  for (let p = rom16[0x14 >> 1]; rom16[p >> 1]; p += 4) {
    const c = rom16[p >> 1];
    fns.set(String.fromCharCode(c & 0xff, c >> 8), rom16[(p + 2) >> 1]);
  }
  return fns;
}

// rp2040js has no model of the flash chip's erase and program commands: the boot ROM's
// flash functions become BKPT traps doing what the chip would, stalling the CPU for it.
const TRAPS = { IF: 0xe0, EX: 0xe1, FC: 0xe2, CX: 0xe3, RE: 0xe4, RP: 0xe5 };
function patchFlashRom() {
  const rom16 = new Uint16Array(mcu.bootrom.buffer);
  const fns = romTable(rom16);
  for (const [code, bkpt] of Object.entries(TRAPS)) {
    const at = (fns.get(code) & ~1) >> 1;
    rom16[at] = 0xbe00 | bkpt; // BKPT #bkpt
    rom16[at + 1] = 0x4770; // BX LR
  }
  mcu.onBreak = (bkpt) => {
    const r = mcu.core.registers;
    let stall = 0;
    if (bkpt === TRAPS.RE) {
      const at = r[0] & 0xffffff;
      mcu.flash.fill(0xff, at, at + r[1]);
      stall = Math.ceil(r[1] / 4096) * ERASE_NS_PER_SECTOR;
    } else if (bkpt === TRAPS.RP) {
      const at = r[0] & 0xffffff;
      for (let i = 0; i < r[2]; i++) mcu.flash[at + i] &= mcu.readUint8(r[1] + i);
      stall = Math.ceil(r[2] / 256) * PROGRAM_NS_PER_PAGE;
    } else if (!Object.values(TRAPS).includes(bkpt)) {
      say(`BKPT #${bkpt} at 0x${(mcu.core.PC >>> 0).toString(16)}`);
    }
    if (stall) {
      send(`F ${now()} ${stall}`);
      clockRef.clock.tick(stall);
      stats.stallNs += stall;
    }
  };
}

function wireI2C(i2c) {
  let addr = -1;
  let mode = 'w';
  let wrote = [];
  let data = null;
  let nread = 0;
  let acked = false;
  const alarm = clockRef.clock.createAlarm(() => {});
  const after = (clocks, fn) => {
    if (!opt.wire) return fn();
    const sclNs = ((i2c.sclHighPeriod + i2c.sclLowPeriod) * 1e9) / mcu.clkSys;
    alarm.callback = fn;
    alarm.schedule(clocks * sclNs);
  };
  const flushWrite = () => {
    if (addr >= 0 && mode === 'w' && acked && wrote.length) {
      send(`W ${now()} ${addr} ${Buffer.from(wrote).toString('hex')}`);
    }
    wrote = [];
  };
  i2c.onStart = (repeated) => {
    if (repeated) flushWrite();
    after(1, () => i2c.completeStart());
  };
  i2c.onConnect = (a, m) => {
    addr = a;
    mode = m === 1 ? 'r' : 'w';
    wrote = [];
    nread = 0;
    // The address byte and its ACK: the device answers after them.
    after(9, () => {
      const [ack, hex, temp] = ask(`C ${now()} ${a} ${mode}`).split(' ');
      acked = ack === '1';
      data = acked && mode === 'r' ? Buffer.from(hex, 'hex') : null;
      if (temp !== undefined) mcu.adc.channelValues[4] = parseInt(temp, 10);
      i2c.completeConnect(acked);
    });
  };
  i2c.onWriteByte = (v) => {
    wrote.push(v);
    after(9, () => i2c.completeWrite(true));
  };
  i2c.onReadByte = () => {
    const v = data && nread < data.length ? data[nread] : 0xff;
    nread++;
    after(9, () => i2c.completeRead(v));
  };
  i2c.onStop = () => {
    flushWrite();
    addr = -1;
    after(1, () => i2c.completeStop());
  };
}

function powerUp(flash) {
  if (mcu !== null) {
    // A watchdog reset: a fresh chip on the same time line, the same flash.
    const c = new SimulationClock();
    c.nanosCounter = clockRef.clock.nanos;
    clockRef.clock = c;
  }
  mcu = new RP2040(clockRef.clock);
  mcu.logger = new ConsoleLogger(LogLevel.Error);
  const rom = new Uint32Array(4096);
  for (let i = 0; i < 4096; i++) rom[i] = BOOTROM.readUInt32LE(i * 4);
  mcu.loadBootrom(rom);
  mcu.flash.set(flash.subarray(0, FS_END), 0);
  patchFlashRom();

  const wd = mcu.peripherals[0x40058];
  wd.reason = wdReason; // survives a watchdog reset, as on silicon
  wd.onWatchdogTrigger = () => {
    wdReason = wd.reason;
    resetWanted = true;
  };

  const pin = mcu.gpio[opt.chargeGpio];
  let level = -1;
  pin.addListener(() => {
    const l = pin.outputEnable && pin.outputValue ? 1 : 0;
    if (l !== level) {
      level = l;
      send(`G ${now()} ${opt.chargeGpio} ${l}`);
    }
  });
  send(`G ${now()} ${opt.chargeGpio} 0`); // a reset lets go of the pin: the pull-down holds it off

  wireI2C(mcu.i2c[opt.i2c]);

  cdc = new USBCDC(mcu.usbCtrl);
  cdc.onSerialData = (buf) => process.stdout.write(Buffer.from(buf));
  cdc.onDeviceConnected = () => say(`usb serial up at ${(now() / 1e9).toFixed(3)} s`);
  const cdcRead = mcu.usbCtrl.onEndpointRead;
  usbOut = null;
  mcu.usbCtrl.onEndpointRead = (ep, size) => {
    if (ep !== cdc.outEndpoint) return cdcRead(ep, size);
    usbOut = { ep, size };
    feedHost();
  };
  mcu.core.PC = 0x10000000; // boot2 at the start of flash
}

function feedHost() {
  if (usbOut === null || hostBytes.length === 0) return;
  const { ep, size } = usbOut;
  usbOut = null;
  mcu.usbCtrl.endpointReadDone(ep, Uint8Array.from(hostBytes.splice(0, size)));
}

{
  const flash = Buffer.alloc(FS_END, 0xff);
  if (IMAGE.length > FS_START) fail(`POGODOCK_RP2_IMAGE is ${IMAGE.length} bytes: it would overlap the filesystem at 0x${FS_START.toString(16)}`);
  IMAGE.copy(flash, 0);
  if (opt.fs) {
    const img = fs.readFileSync(opt.fs);
    if (img.length !== FS_END - FS_START) fail(`${opt.fs}: ${img.length} bytes, not the ${FS_END - FS_START} of the filesystem region`);
    img.copy(flash, FS_START);
  }
  powerUp(flash);
}

// ------------------------------------------------------------------ running
let stopping = false;
let nextStatsNs = 1e8;
let wallIdle = Date.now();
function stop(why) {
  if (stopping) return;
  stopping = true;
  send(`S ${now()} ${stats.busyNs} ${stats.waitNs}`);
  send(`E ${now()}`);
  try {
    flushReq();
  } catch (e) {
    // the Python side may be gone already
  }
  say(`stopped at ${(now() / 1e9).toFixed(3)} emulated s (${why})`);
  process.stdout.write('', () => process.exit(0));
}

function run() {
  if (stopping) return;
  const core = mcu.core;
  const t0 = Date.now();
  let idleNoAlarm = false;
  while (!idleNoAlarm && Date.now() - t0 < 20) {
    for (let i = 0; i < 10000; i++) {
      if (core.waiting) {
        const dt = clockRef.clock.nanosToNextAlarm;
        if (dt <= 0) {
          idleNoAlarm = true;
          break;
        }
        clockRef.clock.tick(dt);
        stats.waitNs += dt;
      } else {
        const ns = core.executeInstruction() * CYCLE_NS;
        clockRef.clock.tick(ns);
        stats.busyNs += ns;
      }
      if (resetWanted) break;
    }
    if (resetWanted) {
      resetWanted = false;
      say(`watchdog reset at ${(now() / 1e9).toFixed(3)} s`);
      powerUp(mcu.flash);
    }
  }
  if (idleNoAlarm) {
    // Asleep with nothing scheduled (a REPL waiting for a key): time follows the wall.
    const w = Date.now();
    const dt = Math.min(50, Math.max(1, w - wallIdle)) * 1e6;
    clockRef.clock.tick(dt);
    stats.waitNs += dt;
  }
  wallIdle = Date.now();
  if (now() >= nextStatsNs) {
    send(`S ${now()} ${stats.busyNs} ${stats.waitNs}`);
    nextStatsNs = now() + 1e8;
  }
  flushReq();
  if (opt.untilS > 0 && now() >= opt.untilS * 1e9) return stop(`reached ${opt.untilS} s`);
  if (idleNoAlarm) setTimeout(run, 1);
  else setImmediate(run);
}

process.stdin.on('data', (chunk) => {
  for (const b of chunk) hostBytes.push(b);
  feedHost();
});
process.stdin.on('end', () => stop('stdin closed'));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
process.stdout.on('error', () => stop('stdout closed'));
setImmediate(run);
