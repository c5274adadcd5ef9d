-- Argo CD health check for argoproj.io/Application (resource.customizations.health.argoproj.io_Application): an
-- Application is as healthy as Argo CD says it is. Argo CD removed this check in 1.8; an app of apps whose sync waves
-- order Applications (the GPU Operator's after the Network Operator's) needs it back, or the parent never waits.
local hs = {status = "Progressing", message = "waiting for the Application to be reconciled"}
if obj.status ~= nil and obj.status.health ~= nil and obj.status.health.status ~= nil then
  hs.status = obj.status.health.status
  hs.message = obj.status.health.message or ""
end
return hs
