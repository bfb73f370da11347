-- Drive SchemaLens from a real Neovim (0.7+, headless): start the server over stdio, open files
-- of a workspace, and write what the editor received (diagnostics, a hover, code actions) to
-- JSON for tests/test_neovim.py. Environment: SCHEMALENS_ROOT, SCHEMALENS_PYTHON, SCHEMALENS_OUT.
local root = os.getenv("SCHEMALENS_ROOT")
local python = os.getenv("SCHEMALENS_PYTHON")
local out = os.getenv("SCHEMALENS_OUT")
local TIMEOUT = 60000

-- Neovim keeps the LSP-only fields (code, codeDescription, relatedInformation, tags) in
-- user_data.lsp and converts range, message and severity to its own form: rebuild the LSP shape.
local function lsp_diagnostics(bufnr)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local diagnostic = vim.deepcopy((d.user_data and d.user_data.lsp) or {})
    diagnostic.range = { start = { line = d.lnum, character = d.col },
                         ["end"] = { line = d.end_lnum or d.lnum, character = d.end_col or d.col } }
    diagnostic.message = d.message
    diagnostic.severity = d.severity
    diagnostic.source = d.source
    diagnostic.code = diagnostic.code or d.code
    table.insert(found, diagnostic)
  end
  return found
end

local function results(responses)
  local merged = {}
  for _, response in pairs(responses or {}) do
    if response.result then
      if vim.tbl_islist(response.result) then
        vim.list_extend(merged, response.result)
      else
        table.insert(merged, response.result)
      end
    end
  end
  return merged
end

local function open(client_id, relative)
  vim.cmd("edit " .. vim.fn.fnameescape(root .. "/" .. relative))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(bufnr, client_id)
  return bufnr
end

local function line_of(bufnr, needle)
  for number, text in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    local column = text:find(needle, 1, true)
    if column then return number - 1, column - 1 end
  end
  error("not found: " .. needle)
end

local function run()
  local client_id = vim.lsp.start_client({
    name = "schemalens", cmd = { python, "-m", "schemalens", "lsp" }, root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = "workspace" } },
  })
  assert(client_id, "the server did not start")
  local report = { files = {} }
  local buffers = {}

  for _, relative in ipairs({ "app/models/order.py",
                              "migrations/versions/7c3e5a9f0d48_bigint_order_item_ids_and_orders_created_index.py" }) do
    local bufnr = open(client_id, relative)
    buffers[relative] = bufnr
    assert(vim.wait(TIMEOUT, function() return #vim.diagnostic.get(bufnr) > 0 end, 50), "no diagnostics for " .. relative)
    local diagnostics = lsp_diagnostics(bufnr)
    local actions = {}
    for _, diagnostic in ipairs(diagnostics) do
      local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, range = diagnostic.range,
                       context = { diagnostics = { diagnostic } } }
      for _, action in ipairs(results(vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", params, TIMEOUT))) do
        table.insert(actions, { code = diagnostic.code, title = action.title, edit = action.edit })
      end
    end
    report.files[relative] = { diagnostics = diagnostics, actions = actions }
  end

  -- A line with Chinese text and an emoji before the finding: Neovim places the diagnostic by
  -- the client's position encoding, and applies the ignore action's edit the same way.
  local cjk = os.getenv("SCHEMALENS_CJK_FILE")
  if cjk then
    local cjk_buffer = buffers[cjk] or open(client_id, cjk)
    assert(vim.wait(TIMEOUT, function() return #vim.diagnostic.get(cjk_buffer) > 0 end, 50), "no diagnostics for " .. cjk)
    local diagnostics = lsp_diagnostics(cjk_buffer)
    local client = vim.lsp.get_client_by_id(client_id)
    local applied = {}
    for _, diagnostic in ipairs(diagnostics) do
      local params = { textDocument = { uri = vim.uri_from_bufnr(cjk_buffer) }, range = diagnostic.range,
                       context = { diagnostics = { diagnostic } } }
      for _, action in ipairs(results(vim.lsp.buf_request_sync(cjk_buffer, "textDocument/codeAction", params, TIMEOUT))) do
        if #applied == 0 and diagnostic.code == "SL201" and action.title:find("Ignore SL201 on this line", 1, true)
            and vim.api.nvim_buf_get_lines(cjk_buffer, diagnostic.range.start.line, diagnostic.range.start.line + 1, false)[1]:find("订单", 1, true) then
          vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
          table.insert(applied, action.title)
        end
      end
    end
    vim.api.nvim_buf_call(cjk_buffer, function() vim.cmd("write") end)
    report.cjk = { diagnostics = diagnostics, applied = applied, offset_encoding = client.offset_encoding }
  end

  local bufnr = open(client_id, "app/models/order.py")
  local line, column = line_of(bufnr, '__tablename__ = "orders"')
  local hover = results(vim.lsp.buf_request_sync(bufnr, "textDocument/hover", {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) }, position = { line = line, character = column + 18 } }, TIMEOUT))
  report.hover = hover[1] and hover[1].contents
  local definition = results(vim.lsp.buf_request_sync(bufnr, "textDocument/definition", {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) }, position = { line = line, character = column + 18 } }, TIMEOUT))
  report.definition = definition

  vim.lsp.stop_client(client_id)
  return report
end

local ok, report = pcall(run)
if not ok then report = { error = tostring(report) } end
local handle = assert(io.open(out, "w"))
handle:write(vim.fn.json_encode(report))
handle:close()
vim.cmd("qa!")
