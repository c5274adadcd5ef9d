-- Argo CD health check for mellanox.com/NicNodePolicy (resource.customizations.health.mellanox.com_NicNodePolicy).
-- Runs without the Lua string library (Argo CD loads only base, table, package and a safe os).
-- The operator's status (Mellanox/network-operator v26.4.1, controllers/nicnodepolicy_controller.go and
-- controllers/nic_policy_helpers.go updatePolicyCRStatus): state is ready once every component (appliedStates:
-- state-OFED, state-RDMA-device-plugin, state-SRIOV-device-plugin) is ready or ignored, else notReady, a component's
-- failure being its own state error with a message; error with a reason when the policy's nodes overlap another
-- NicNodePolicy's (the operator then changes none of its DaemonSets). The CRD allows ignore too, which v26.4.1 never
-- writes on a NicNodePolicy.
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
  hs.message = "the pool's driver and device plugin are ready"
elseif state == "notReady" then
  local failing = components(status, function(s) return s == "error" end)
  local pending = components(status, function(s) return s ~= "ready" and s ~= "ignore" and s ~= "error" end)
  hs.message = "components not ready yet"
  if pending ~= "" then hs.message = hs.message .. ": " .. pending end
  if failing ~= "" then hs.message = hs.message .. "; failing: " .. failing end
elseif state == "error" then
  hs.status = "Degraded"
  hs.message = "error"
  local failing = components(status, function(s) return s == "error" end)
  if failing ~= "" then hs.message = hs.message .. " in " .. failing end
  if status.reason ~= nil and status.reason ~= "" then hs.message = hs.message .. ": " .. status.reason end
elseif state == "ignore" then
  hs.status = "Degraded"
  hs.message = "ignored by the operator"
  if status.reason ~= nil and status.reason ~= "" then hs.message = hs.message .. ": " .. status.reason end
else
  hs.message = "unknown state " .. tostring(state) .. "; waiting for the operator"
end
return hs
