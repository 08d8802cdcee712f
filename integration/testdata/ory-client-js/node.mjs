// node node.mjs <flows> <public base URL> '<options JSON>'
//
// Runs one set of flows of flows.mjs through Ory's SDK in node and prints
// its report as JSON on stdout. <flows> is native, browser, unknown,
// start-login or expired-login; the options are the flow's (email,
// password, flowId, csrf) and, for the browser flows, jar: a file that
// keeps the cookie jar from one run to the next.
//
// The SDK is unchanged. A native app gets the SDK's default axios. A
// browser app gets an axios instance that keeps cookies, as a browser
// does (axios in node keeps none): a request interceptor sends the jar's
// Cookie header and a response interceptor stores Set-Cookie. It follows
// no redirects, so an unexpected one is reported as such rather than
// chased.

import { readFile, writeFile } from 'node:fs/promises';

import { Configuration, FrontendApi } from '@ory/client';
import axios from 'axios';
import { CookieJar } from 'tough-cookie';

import { browserFlows, expiredLoginFlow, nativeFlows, startLoginFlow, unknownFlows } from './flows.mjs';

const [mode, base, optionsJSON] = process.argv.slice(2);
const options = JSON.parse(optionsJSON || '{}');
const configuration = new Configuration({ basePath: `${base}/.ory/kratos/public` });

async function loadJar(file) {
  if (!file) return new CookieJar();
  try {
    return await CookieJar.deserialize(JSON.parse(await readFile(file, 'utf8')));
  } catch (e) {
    if (e.code === 'ENOENT') return new CookieJar();
    throw e;
  }
}

// browserClient is axios with the cookie jar, for FrontendApi's third
// argument.
function browserClient(jar) {
  const client = axios.create({ maxRedirects: 0 });
  client.interceptors.request.use(async (config) => {
    const cookie = await jar.getCookieString(axios.getUri(config));
    if (cookie) config.headers.set('Cookie', cookie);
    return config;
  });
  const keep = async (res) => {
    for (const c of res.headers['set-cookie'] ?? []) {
      await jar.setCookie(c, axios.getUri(res.config));
    }
  };
  client.interceptors.response.use(
    async (res) => { await keep(res); return res; },
    async (err) => { if (err.response) await keep(err.response); throw err; },
  );
  return client;
}

const jar = await loadJar(options.jar);
const native = new FrontendApi(configuration);
const browser = new FrontendApi(configuration, undefined, browserClient(jar));

let out;
switch (mode) {
  case 'native': out = await nativeFlows(native, options); break;
  case 'browser': out = await browserFlows(browser, options); break;
  case 'unknown': out = await unknownFlows(browser, options); break;
  case 'start-login': out = await startLoginFlow(browser); break;
  case 'expired-login': out = await expiredLoginFlow(browser, options); break;
  default: throw new Error(`unknown flows ${JSON.stringify(mode)}`);
}
if (options.jar) await writeFile(options.jar, JSON.stringify(await jar.serialize()));
process.stdout.write(JSON.stringify(out) + '\n');
