-- Drive Neovim configured with a README snippet (loaded with -u): open files by absolute path
-- from a working directory outside the project, as a user would, and write what the editor got
-- to JSON for tests/test_neovim.py and bench/bench_neovim.py. Works on Neovim 0.7 to 0.11.
--
-- Environment: SCHEMALENS_SCENARIO (open, broken, scaffold, hold, bench), SCHEMALENS_FILES
-- (absolute paths, comma separated), SCHEMALENS_OUT (the JSON report).
local out = os.getenv("SCHEMALENS_OUT")
local scenario = os.getenv("SCHEMALENS_SCENARIO") or "open"
local files = vim.split(os.getenv("SCHEMALENS_FILES") or "", ",", { trimempty = true })
local TIMEOUT = tonumber(os.getenv("SCHEMALENS_TIMEOUT_MS") or "120000")
local started = vim.loop.hrtime()
local get_clients = vim.lsp.get_clients or vim.lsp.get_active_clients -- 0.10 renamed it

local messages = {} -- window/showMessage and window/logMessage, as the client got them
for _, method in ipairs({ "window/showMessage", "window/logMessage" }) do
  local default = vim.lsp.handlers[method]
  vim.lsp.handlers[method] = function(err, result, ctx, config)
    table.insert(messages, { method = method, type = result.type, message = result.message })
    if method == "window/logMessage" then return default(err, result, ctx, config) end
  end
end

local function write(report)
  local handle = assert(io.open(out, "w"))
  handle:write(vim.fn.json_encode(report))
  handle:close()
end

local function clients_of(bufnr)
  local found = {}
  for _, client in pairs(get_clients()) do
    if bufnr == nil or vim.lsp.buf_is_attached(bufnr, client.id) then
      table.insert(found, { id = client.id, name = client.name, root_dir = client.config.root_dir,
                            workspace_folders = client.workspace_folders or client.config.workspace_folders })
    end
  end
  return found
end

-- Neovim keeps the LSP-only fields (code, codeDescription, ...) in user_data.lsp and converts
-- range, message and severity to its own form: rebuild the LSP shape (ASCII lines: columns agree).
local function lsp_diagnostics(bufnr)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local diagnostic = vim.deepcopy((d.user_data and d.user_data.lsp) or {})
    diagnostic.range = { start = { line = d.lnum, character = d.col },
                         ["end"] = { line = d.end_lnum or d.lnum, character = d.end_col or d.col } }
    diagnostic.message = d.message
    diagnostic.severity = d.severity
    diagnostic.code = diagnostic.code or d.code
    table.insert(found, diagnostic)
  end
  table.sort(found, function(a, b) return a.range.start.line < b.range.start.line end)
  return found
end

local function wait(what, condition)
  assert(vim.wait(TIMEOUT, condition, 20), "timed out waiting for " .. what)
end

local function open(path)
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  return vim.api.nvim_get_current_buf()
end

local function has_code(bufnr, code, line)
  for _, d in ipairs(lsp_diagnostics(bufnr)) do
    if tostring(d.code) == code and (line == nil or d.range.start.line == line) then return true end
  end
  return false
end

-- The code action titled `title` on `diagnostic`, through Neovim's own code action flow (its
-- request, its vim.ui.select, its application of the edit and of the command).
local function apply_code_action(bufnr, diagnostic, title)
  local chosen
  local select = vim.ui.select
  vim.ui.select = function(items, _, on_choice)
    for index, item in ipairs(items) do
      local action = item.action or item[2]
      if action.title == title then
        chosen = action
        return on_choice(item, index)
      end
    end
    chosen = false
    on_choice(nil)
  end
  vim.api.nvim_win_set_cursor(0, { diagnostic.range.start.line + 1, diagnostic.range.start.character })
  if vim.fn.has("nvim-0.8") == 1 then
    vim.lsp.buf.code_action({ context = { diagnostics = { diagnostic } } })
  else
    vim.lsp.buf.code_action({ diagnostics = { diagnostic } })
  end
  wait("the code action list", function() return chosen ~= nil end)
  vim.ui.select = select
  assert(chosen, "no code action titled " .. title)
  return chosen
end

local function open_all()
  local report = { files = {}, cwd = vim.fn.getcwd() }
  for _, path in ipairs(files) do
    local bufnr = open(path)
    wait("diagnostics of " .. path, function() return #vim.diagnostic.get(bufnr) > 0 end)
    report.files[path] = { diagnostics = lsp_diagnostics(bufnr), clients = clients_of(bufnr) }
  end
  report.clients = clients_of(nil)
  return report
end

local scenarios = {}

function scenarios.open()
  local report = open_all()
  wait("the index's log message", function()
    for _, m in ipairs(messages) do
      if m.message:find("schemalens: indexed", 1, true) then return true end
    end
    return false
  end)
  return report
end

-- A half-typed line in the middle of a model file, typed through the buffer (Neovim sends the
-- incremental change), then the ignore action on a finding below it.
function scenarios.broken()
  local bufnr = open(files[1])
  wait("SL201", function() return has_code(bufnr, "SL201") end)
  local report = { before = lsp_diagnostics(bufnr), good = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false) }
  local at
  for number, text in ipairs(report.good) do
    if text:find("^%s*id = db%.Column") then at = number break end
  end
  vim.api.nvim_buf_set_lines(bufnr, at, at, false, { "    total = db.Column(db.Numeric(12," })
  report.at = at -- 0-based line of the half-typed one
  wait("the syntax error", function() return has_code(bufnr, "parse:error") end)
  report.broken = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  report.after = lsp_diagnostics(bufnr)
  local target
  for _, d in ipairs(report.after) do
    if d.code == "SL201" and d.range.start.line > at then target = d break end
  end
  assert(target, "no SL201 below the half-typed line")
  report.target = target
  apply_code_action(bufnr, target, "SchemaLens: Ignore SL201 on this line")
  report.ignored = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  wait("SL201 to go from its line", function() return not has_code(bufnr, "SL201", target.range.start.line) end)
  report.final = lsp_diagnostics(bufnr)
  return report
end

-- The scaffold action in a client that declares no documentChanges: Neovim applies the edit of
-- the head revision, then asks the server to run the command that creates the revision files.
function scenarios.scaffold()
  local bufnr = open(files[1])
  wait("SL508", function() return has_code(bufnr, "SL508") end)
  local target
  for _, d in ipairs(lsp_diagnostics(bufnr)) do
    if d.code == "SL508" then target = d break end
  end
  local versions = vim.fn.fnamemodify(files[1], ":h")
  local before = {}
  for _, path in ipairs(vim.fn.glob(versions .. "/*.py", false, true)) do before[path] = true end
  local action = apply_code_action(bufnr, target, os.getenv("SCHEMALENS_ACTION_TITLE"))
  local function created()
    local new = {}
    for _, path in ipairs(vim.fn.glob(versions .. "/*.py", false, true)) do
      if not before[path] then table.insert(new, path) end
    end
    return new
  end
  wait("the revision files", function() return #created() > 0 end)
  -- Neovim 0.10+ opens them (window/showDocument); older ones get a message naming them.
  local shown = {}
  wait("the files shown or named", function()
    shown = {}
    for _, path in ipairs(created()) do
      local other = vim.fn.bufnr(path)
      if other ~= -1 and vim.api.nvim_buf_is_loaded(other) then table.insert(shown, path) end
    end
    for _, m in ipairs(messages) do
      if m.message:find("SchemaLens: created", 1, true) then return true end
    end
    return #shown > 0 and #shown == #created()
  end)
  vim.api.nvim_buf_call(bufnr, function() vim.cmd("write") end)
  wait("SL508 to go", function() return not has_code(bufnr, "SL508") end)
  return { action = { title = action.title, has_edit = action.edit ~= nil, command = action.command }, shown = shown,
           created = created(), head = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false),
           final = lsp_diagnostics(bufnr) }
end

-- Open a file and say when the server runs (SCHEMALENS_READY=start) or when it has published
-- (otherwise); then keep running until the test kills Neovim.
function scenarios.hold()
  local bufnr = open(files[1])
  if os.getenv("SCHEMALENS_READY") == "start" then
    wait("the client", function() return #clients_of(bufnr) > 0 end)
  else
    wait("diagnostics", function() return #vim.diagnostic.get(bufnr) > 0 end)
  end
  write({ ready = true, clients = clients_of(bufnr) })
  vim.wait(600000, function() return false end, 100)
  return nil
end

-- Seconds from opening the file to its first diagnostics.
function scenarios.bench()
  local before = vim.loop.hrtime()
  local bufnr = open(files[1])
  wait("diagnostics", function() return #vim.diagnostic.get(bufnr) > 0 end)
  local now = vim.loop.hrtime()
  return { first_diagnostics = (now - before) / 1e9, since_start = (now - started) / 1e9,
           count = #vim.diagnostic.get(bufnr) }
end

local ok, report = pcall(scenarios[scenario])
if not ok then report = { error = tostring(report) } end
if report ~= nil then
  report.messages = messages
  report.version = vim.version()
  write(report)
end
for _, client in pairs(get_clients()) do vim.lsp.stop_client(client.id) end
vim.wait(5000, function() return #get_clients() == 0 end, 20)
vim.cmd("qa!")
