-- Argo CD health check for mellanox.com/NicClusterPolicy (resource.customizations.health.mellanox.com_NicClusterPolicy).
-- Runs without the Lua string library (Argo CD loads only base, table, package and a safe os).
local function components(status, wanted)
  local names = {}
  for _, applied in ipairs(status.appliedStates or {}) do
    if applied.name ~= nil and wanted(applied.state) then
      local entry = applied.name
      if applied.message ~= nil and applied.message ~= "" then
        entry = entry .. " (" .. applied.message .. ")"
      end
      table.insert(names, entry)
    end
  end
  return table.concat(names, ", ")
end

local hs = {status = "Progressing", message = "waiting for the operator to report the policy's state"}
if obj.status == nil or obj.status.state == nil or obj.status.state == "" then
  return hs
end
local status = obj.status
local state = status.state
if state == "ready" then
  hs.status = "Healthy"
  hs.message = "all components ready"
elseif state == "notReady" then
  local pending = components(status, function(s) return s ~= "ready" and s ~= "ignore" end)
  hs.message = "components not ready yet"
  if pending ~= "" then hs.message = hs.message .. ": " .. pending end
elseif state == "error" then
  hs.status = "Degraded"
  local failing = components(status, function(s) return s == "error" end)
  hs.message = "error"
  if failing ~= "" then hs.message = hs.message .. " in " .. failing end
  if status.reason ~= nil and status.reason ~= "" then hs.message = hs.message .. ": " .. status.reason end
elseif state == "ignore" then
  hs.status = "Degraded"
  hs.message = "ignored by the operator: only the NicClusterPolicy named nic-cluster-policy is reconciled"
else
  hs.message = "unknown state " .. tostring(state) .. "; waiting for the operator"
end
return hs
