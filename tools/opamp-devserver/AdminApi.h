#pragma once

// The dev server's JSON admin API (plain HTTP, loopback by default). Agents are named by
// their instance UID in canonical text form; `all` names every known agent.
//
//   GET    /  (or /index.html)                  the web page (WebPage.h), which uses the
//                                               routes below
//   GET    /api/agents                          agents and their last reported state
//   GET    /api/agents/{uid}                    one agent
//   GET    /api/messages[?agent=UID&since=N]    the record of messages, both directions
//   POST   /api/agents/{uid}/config             {"config": {"name": "yaml", ...},
//                                                "content_type": "text/yaml"}
//   POST   /api/agents/{uid}/restart            Command RESTART
//   POST   /api/agents/{uid}/report-full-state  the ReportFullState flag
//   POST   /api/agents/{uid}/custom-message     {"capability": "...", "type": "...",
//                                                "data": "text"}
//   POST   /api/agents/{uid}/connection-settings  a ConnectionSettingsOffers, protobuf JSON
//   POST   /api/agents/{uid}/packages           a PackagesAvailable, protobuf JSON
//   POST   /api/agents/{uid}/new-instance-uid   {"instance_uid": "..."} (optional body)
//   POST   /api/agents/{uid}/send               any ServerToAgent, protobuf JSON
//   PUT    /api/files/{name}                    a file agents fetch from /files/{name}
//   GET    /api/files/{name}/requests           what clients sent for it: {"count": n,
//                                                "ranges": ["", "bytes=100-"],
//                                                "last_headers": {"Name": "value"}}
//   GET    /api/faults    POST /api/faults    DELETE /api/faults
//          {"http_status": 503, "retry_after": "2", "count": 1}
//          {"error_response": "UNAVAILABLE", "message": "...", "retry_after_ms": 2000,
//           "count": 1}
//          {"drop_polls": 1}          {"drop_connections": true}
//          {"cut_downloads": {"after_bytes": 1000, "count": 1}}
//          {"fail_downloads": {"status": 500, "count": 1}}
//          {"throttle_downloads": {"bytes_per_second": 32768}}   (0 or DELETE stops it)
//   GET    /api/auth      PUT /api/auth {"authorization": [...]}    DELETE /api/auth

namespace Poco::Net {
class HTTPRequestHandlerFactory;
}  // namespace Poco::Net

namespace opampsup::devserver {

class DevServer;

Poco::Net::HTTPRequestHandlerFactory* makeAdminFactory(DevServer& server);

}  // namespace opampsup::devserver
