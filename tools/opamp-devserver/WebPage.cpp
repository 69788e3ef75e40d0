#include "WebPage.h"

namespace opampsup::devserver {

namespace {

// The page in three pieces, each well under the 16 KiB some compilers allow one string
// literal. Everything the page shows comes from the admin API and reaches the document
// through textContent only, so nothing an agent reports can turn into markup.

constexpr const char* kHead = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>opamp-devserver</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em 2em; color: #222; }
  h1 { font-size: 1.35em; margin-bottom: 0.2em; }
  h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
  h3 { font-size: 1em; margin: 1.2em 0 0.4em; }
  table { border-collapse: collapse; }
  th, td { text-align: left; padding: 0.2em 0.7em 0.2em 0; vertical-align: top; }
  th { font-weight: 600; border-bottom: 1px solid #ccc; }
  #agents td { border-bottom: 1px solid #eee; }
  #agents tbody tr { cursor: pointer; }
  #agents tbody tr:hover, #agents tbody tr:focus { background: #eef3f9; outline: none; }
  #agents tbody tr.selected { background: #dbe7f6; }
  code, pre, textarea, input[type=text] { font: 12px/1.4 ui-monospace, monospace; }
  pre { background: #f5f5f5; padding: 0.6em; overflow: auto; max-height: 28em; margin: 0; }
  textarea { width: 100%; max-width: 60em; height: 14em; box-sizing: border-box; }
  .key { color: #555; white-space: nowrap; }
  .muted { color: #777; }
  .error { color: #b00020; }
  .good { color: #1a7f37; font-weight: 600; }
  .bad { color: #b00020; font-weight: 600; }
  .busy { color: #9a6700; font-weight: 600; }
</style>
</head>
)html";

constexpr const char* kBody = R"html(<body>
<h1>opamp-devserver</h1>
<p class="muted">The agents this server knows, refreshed every 1.5 s. Click one for its details.
  <span id="refresh-state"></span></p>

<table id="agents">
  <thead>
    <tr><th>Instance UID</th><th>Connected</th><th>Service</th><th>Version</th><th>Healthy</th></tr>
  </thead>
  <tbody></tbody>
</table>
<p id="no-agents" class="muted">No agent has connected yet.</p>

<section id="agent-detail" hidden>
  <h2>Agent <code id="detail-uid"></code></h2>
  <p id="detail-missing" class="error" hidden>The server does not know this agent (any more).</p>
  <div id="agent-info">
    <h3>Connection</h3>
    <table id="connection"><tbody></tbody></table>

    <h3>Description</h3>
    <table id="description">
      <thead><tr><th>Attribute</th><th>Value</th><th>Kind</th></tr></thead>
      <tbody></tbody>
    </table>

    <h3>Health</h3>
    <table id="health"><tbody></tbody></table>

    <h3>Remote config</h3>
    <table id="remote-config">
      <tbody>
        <tr><td class="key">Status</td><td id="remote-config-status"></td></tr>
        <tr><td class="key">Hash</td><td><code id="remote-config-hash"></code></td></tr>
        <tr><td class="key">Error</td><td id="remote-config-error" class="error"></td></tr>
        <tr><td class="key">Last pushed</td><td><code id="desired-config-hash"></code></td></tr>
      </tbody>
    </table>
    <p id="no-remote-config" class="muted" hidden>This agent does not accept remote config.</p>

    <form id="config-form">
      <h3>Push a config</h3>
      <p><label>File name <input id="config-name" type="text" value="" size="30"
        placeholder="empty: the main config"></label></p>
      <textarea id="config-text" spellcheck="false"
        placeholder="receivers:&#10;  otlp:&#10;    protocols:&#10;      grpc: {}&#10;..."></textarea>
      <p><button id="push-config" type="submit">Push config</button>
        <span id="push-result"></span></p>
    </form>

    <h3>Effective config</h3>
    <div id="effective-config"></div>

    <h3>Packages</h3>
    <table id="packages">
      <thead>
        <tr><th>Name</th><th>Status</th><th>Has</th><th>Offered</th><th>Download</th>
          <th>Error</th></tr>
      </thead>
      <tbody></tbody>
    </table>
    <p id="packages-note" class="muted"></p>
  </div>
</section>
)html";

constexpr const char* kScript = R"html(<script>
'use strict';

const REFRESH_MS = 1500;
let agents = [];
let selectedUid = uidFromLocation();
let refreshTimer = null;
let refreshing = false;
const rendered = new WeakMap();

function byId(id) { return document.getElementById(id); }

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function tableRow(values) {
  const tr = document.createElement('tr');
  for (const value of values) tr.appendChild(element('td', value));
  return tr;
}

// Rebuilds a container only when its data changed, so a refresh keeps a text selection or a
// scroll position.
function renderIfChanged(container, data, build) {
  const key = JSON.stringify(data);
  if (rendered.get(container) === key) return;
  rendered.set(container, key);
  container.replaceChildren(...build(data));
}

// "RemoteConfigStatuses_APPLIED" -> "APPLIED".
function withoutPrefix(name, prefix) {
  return name && name.startsWith(prefix) ? name.slice(prefix.length) : (name || '');
}

function anyValueText(value) {
  if (!value) return '';
  if ('string_value' in value) return value.string_value;
  if ('bool_value' in value) return String(value.bool_value);
  if ('int_value' in value) return String(value.int_value);
  if ('double_value' in value) return String(value.double_value);
  if ('bytes_value' in value) return 'base64:' + value.bytes_value;
  if ('array_value' in value) {
    return '[' + (value.array_value.values || []).map(anyValueText).join(', ') + ']';
  }
  if ('kvlist_value' in value) {
    const pairs = value.kvlist_value.values || [];
    return '{' + pairs.map(kv => kv.key + ': ' + anyValueText(kv.value)).join(', ') + '}';
  }
  return '';
}

function reported(agent) { return agent.status || {}; }

function describedAttributes(agent) {
  const description = reported(agent).agent_description || {};
  const out = [];
  for (const kv of description.identifying_attributes || []) {
    out.push([kv.key, anyValueText(kv.value), 'identifying']);
  }
  for (const kv of description.non_identifying_attributes || []) {
    out.push([kv.key, anyValueText(kv.value), 'non-identifying']);
  }
  return out;
}

function attribute(agent, key) {
  const found = describedAttributes(agent).find(row => row[0] === key);
  return found ? found[1] : '';
}

// Protobuf JSON leaves out false and zero values, so a missing "healthy" means false.
function healthyText(agent) {
  const health = reported(agent).health;
  if (!health) return 'not reported';
  return health.healthy ? 'yes' : 'no';
}

function uidFromLocation() {
  const match = /^#agent=(.+)$/.exec(window.location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

function select(uid) {
  if (uid !== selectedUid) {
    byId('push-result').textContent = '';
    delete byId('push-result').dataset.hash;
  }
  selectedUid = uid;
  history.replaceState(null, '', '#agent=' + encodeURIComponent(uid));
  render();
}

function renderAgents() {
  const rows = agents.map(agent => [agent.instance_uid, agent.connected ? 'yes' : 'no',
    attribute(agent, 'service.name'), attribute(agent, 'service.version'), healthyText(agent)]);
  renderIfChanged(byId('agents').tBodies[0], {rows, selectedUid}, data => data.rows.map(values => {
    const tr = tableRow(values);
    tr.id = 'agent-' + values[0];
    tr.dataset.uid = values[0];
    tr.tabIndex = 0;
    if (values[0] === data.selectedUid) tr.className = 'selected';
    return tr;
  }));
  byId('no-agents').hidden = agents.length > 0;
}

function renderConnection(agent) {
  const rows = [
    ['Connected', agent.connected ? 'yes' : 'no'],
    ['Transport', agent.transport],
    ['Peer', agent.peer],
    ['Client certificate', agent.client_certificate || 'none'],
    ['First seen', agent.first_seen],
    ['Last seen', agent.last_seen],
    ['Messages', agent.message_count],
    ['Capabilities', (agent.capability_names || []).join(', ')],
  ];
  renderIfChanged(byId('connection').tBodies[0], rows, data => data.map(keyValueRow));
}

function keyValueRow(pair) {
  const tr = tableRow(pair);
  tr.cells[0].className = 'key';
  return tr;
}

function renderDescription(agent) {
  const rows = describedAttributes(agent);
  renderIfChanged(byId('description').tBodies[0], rows,
    data => data.length ? data.map(tableRow) : [tableRow(['not reported', '', ''])]);
}

// The health tree flattened: one row per component, named by its path.
function componentRows(map, prefix, out) {
  for (const name of Object.keys(map || {}).sort()) {
    const component = map[name];
    const parts = [component.healthy ? 'healthy' : 'unhealthy'];
    if (component.status) parts.push(component.status);
    if (component.last_error) parts.push(component.last_error);
    out.push([prefix + name, parts.join(' - ')]);
    componentRows(component.component_health_map, prefix + name + ' / ', out);
  }
  return out;
}

function renderHealth(agent) {
  const health = reported(agent).health;
  const rows = health ? [
    ['Healthy', health.healthy ? 'yes' : 'no'],
    ['Status', health.status || ''],
    ['Last error', health.last_error || ''],
    ...componentRows(health.component_health_map, '', []),
  ] : [['Healthy', 'not reported']];
  renderIfChanged(byId('health').tBodies[0], rows, data => data.map(keyValueRow));
}

function renderRemoteConfig(agent) {
  const status = agent.remote_config_status || {};
  const name = withoutPrefix(status.status, 'RemoteConfigStatuses_') || 'UNSET';
  const shown = byId('remote-config-status');
  shown.textContent = name;
  shown.className = {APPLIED: 'good', FAILED: 'bad', APPLYING: 'busy'}[name] || '';
  byId('remote-config-hash').textContent = status.last_remote_config_hash || '';
  byId('remote-config-error').textContent = status.error_message || '';
  byId('desired-config-hash').textContent = agent.desired_config_hash || '';
  const accepts = (agent.capability_names || []).includes('AcceptsRemoteConfig');
  byId('no-remote-config').hidden = accepts;
}

function renderEffectiveConfig(agent) {
  renderIfChanged(byId('effective-config'), agent.effective_config || {}, files => {
    const names = Object.keys(files).sort();
    if (!names.length) return [element('p', 'not reported', 'muted')];
    const nodes = [];
    for (const name of names) {
      if (names.length > 1 || name !== '') nodes.push(element('h4', name || '(unnamed)'));
      nodes.push(element('pre', files[name]));
    }
    return nodes;
  });
}

function downloadText(pkg) {
  const details = pkg.download_details;
  if (!details) return '';
  const percent = Math.round(details.download_percent || 0) + '%';
  const rate = details.download_bytes_per_second;
  return rate ? percent + ' at ' + Math.round(rate / 1024) + ' KiB/s' : percent;
}

function renderPackages(agent) {
  const statuses = reported(agent).package_statuses;
  const packages = (statuses && statuses.packages) || {};
  // A missing status is Installed, protobuf JSON's default.
  const rows = Object.keys(packages).sort().map(name => [name,
    withoutPrefix(packages[name].status || 'PackageStatusEnum_Installed', 'PackageStatusEnum_'),
    packages[name].agent_has_version || '', packages[name].server_offered_version || '',
    downloadText(packages[name]), packages[name].error_message || '']);
  renderIfChanged(byId('packages').tBodies[0], rows, data => data.map(tableRow));
  const note = byId('packages-note');
  if (!statuses) {
    note.textContent = 'No package status reported.';
  } else if (statuses.error_message) {
    note.textContent = 'Error: ' + statuses.error_message;
  } else {
    note.textContent = rows.length ? '' : 'No packages.';
  }
}

function renderDetail() {
  byId('agent-detail').hidden = !selectedUid;
  if (!selectedUid) return;
  byId('detail-uid').textContent = selectedUid;
  const agent = agents.find(candidate => candidate.instance_uid === selectedUid);
  byId('detail-missing').hidden = Boolean(agent);
  byId('agent-info').hidden = !agent;
  if (!agent) return;
  renderConnection(agent);
  renderDescription(agent);
  renderHealth(agent);
  renderRemoteConfig(agent);
  renderEffectiveConfig(agent);
  renderPackages(agent);
}

function render() {
  renderAgents();
  renderDetail();
}

async function refresh() {
  const state = byId('refresh-state');
  try {
    const response = await fetch('/api/agents', {cache: 'no-store'});
    if (!response.ok) throw new Error('HTTP ' + response.status);
    agents = (await response.json()).agents || [];
    state.textContent = 'Updated ' + new Date().toLocaleTimeString() + '.';
    state.className = '';
  } catch (error) {
    state.textContent = 'Cannot reach the admin API: ' + error.message;
    state.className = 'error';
  }
  render();
}

// One refresh at a time; refreshLoop() while one is running leaves the next to its timer.
async function refreshLoop() {
  if (refreshing) return;
  clearTimeout(refreshTimer);
  refreshing = true;
  try {
    await refresh();
  } finally {
    refreshing = false;
    refreshTimer = setTimeout(refreshLoop, REFRESH_MS);
  }
}

async function pushConfig(event) {
  event.preventDefault();
  if (!selectedUid) return;
  const result = byId('push-result');
  const button = byId('push-config');
  const files = {};
  files[byId('config-name').value] = byId('config-text').value;
  result.className = 'muted';
  result.textContent = 'Sending...';
  delete result.dataset.hash;
  button.disabled = true;
  try {
    const response = await fetch('/api/agents/' + encodeURIComponent(selectedUid) + '/config', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({config: files, content_type: 'text/yaml'}),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || 'HTTP ' + response.status);
    result.className = '';
    result.textContent = 'Sent config ' + answer.config_hash +
      '; the status above follows what the agent reports.';
    result.dataset.hash = answer.config_hash;
  } catch (error) {
    result.className = 'error';
    result.textContent = 'Push failed: ' + error.message;
  } finally {
    button.disabled = false;
  }
  refreshLoop();
}

function onAgentChosen(event) {
  const row = event.target.closest('tr[data-uid]');
  if (!row) return;
  if (event.type === 'keydown' && event.key !== 'Enter' && event.key !== ' ') return;
  event.preventDefault();
  select(row.dataset.uid);
}

byId('agents').tBodies[0].addEventListener('click', onAgentChosen);
byId('agents').tBodies[0].addEventListener('keydown', onAgentChosen);
byId('config-form').addEventListener('submit', pushConfig);
refreshLoop();
</script>
</body>
</html>
)html";

}  // namespace

const std::string& webPage() {
    static const std::string page = std::string(kHead) + kBody + kScript;
    return page;
}

}  // namespace opampsup::devserver
