/**
 * Quiet start-up: the AWS SDK for JavaScript v3 prints a NodeVersionSupportWarning once per
 * process on Node < 22 ("versions published after January 2027 will require node >=22"). It is a
 * notice about the SDK's future releases, not about anything this process does, and it appeared
 * on every run. AWS documents this variable as the way to turn it off
 * (https://github.com/aws/aws-sdk-js-v3/issues/7983); the SDK reads it when a client is
 * constructed, so setting it at an entry point before any client exists is enough, and child
 * processes inherit it. An explicit value set by the user wins.
 */
export const SDK_NODE_NOTICE_ENV = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

export function silenceSdkNodeVersionNotice(env: NodeJS.ProcessEnv = process.env): void {
  env[SDK_NODE_NOTICE_ENV] ??= 'true';
}
