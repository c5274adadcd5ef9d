-- Argo CD health check for mellanox.com/IPoIBNetwork (resource.customizations.health.mellanox.com_IPoIBNetwork).
-- Runs without the Lua string library (Argo CD loads only base, table, package and a safe os).
local hs = {status = "Progressing", message = "waiting for the operator to create the NetworkAttachmentDefinition"}
if obj.status == nil or obj.status.state == nil or obj.status.state == "" then
  return hs
end
local state = obj.status.state
if state == "ready" then
  hs.status = "Healthy"
  hs.message = "NetworkAttachmentDefinition created"
elseif state == "error" then
  hs.status = "Degraded"
  hs.message = "error"
  if obj.status.reason ~= nil and obj.status.reason ~= "" then hs.message = hs.message .. ": " .. obj.status.reason end
elseif state == "notReady" then
  hs.message = "not ready"
  if obj.status.reason ~= nil and obj.status.reason ~= "" then hs.message = hs.message .. ": " .. obj.status.reason end
else
  hs.message = "unknown state " .. tostring(state) .. "; waiting for the operator"
end
return hs
