/**
 * Preloaded (`node --import tsx --import <this file> <entry>`) into every child process the local
 * VM fleet starts: if the controller that started it dies without cleaning up (SIGKILL, crash),
 * the child is re-parented and exits, so no "VM" outlives its fleet. Linux has no portable
 * parent-death signal from Node, so it polls process.ppid (a live getppid() call) once a second.
 */
const parentPid = process.ppid;
const timer = setInterval(() => {
  if (process.ppid !== parentPid) process.exit(0);
}, 500);
timer.unref();
