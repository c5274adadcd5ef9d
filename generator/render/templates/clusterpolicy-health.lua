-- Argo CD health check for nvidia.com/ClusterPolicy (resource.customizations.health.nvidia.com_ClusterPolicy).
-- The GPU Operator reports status.state (ready, notReady, ignored) and conditions (Ready, Error) on its policy.
-- Runs without the Lua string library (Argo CD loads only base, table, package and a safe os).
local function error_condition(status)
  for _, condition in ipairs(status.conditions or {}) do
    if condition.type == "Error" and condition.status == "True" then
      local text = condition.reason or ""
      if condition.message ~= nil and condition.message ~= "" then
        if text ~= "" then text = text .. ": " end
        text = text .. condition.message
      end
      return text
    end
  end
  return ""
end

local hs = {status = "Progressing", message = "waiting for the GPU Operator to report the policy's state"}
if obj.status == nil or obj.status.state == nil or obj.status.state == "" then
  return hs
end
local state = obj.status.state
if state == "ready" then
  hs.status = "Healthy"
  hs.message = "all GPU operands ready"
elseif state == "notReady" then
  hs.message = "GPU operands not ready yet"
  local failing = error_condition(obj.status)
  if failing ~= "" then hs.message = hs.message .. " (" .. failing .. ")" end
elseif state == "ignored" then
  hs.status = "Degraded"
  hs.message = "ignored by the GPU Operator: it reconciles one ClusterPolicy per cluster, and another one is active"
else
  hs.message = "unknown state " .. tostring(state) .. "; waiting for the GPU Operator"
end
return hs
