;;; eglot.el --- End-to-end run of the SchemaLens server in Emacs + eglot (Debian's packages).
;; emacs --batch -Q -l eglot.el, with SCHEMALENS_ROOT (a copy of examples/shop),
;; SCHEMALENS_PYTHON and SCHEMALENS_OUT (where the JSON report goes) in the environment.

;; -Q skips Debian's site-lisp: put the packaged eglot and its dependencies on the load path.
(dolist (dir (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))
  (add-to-list 'load-path dir))
(require 'eglot)
(require 'json)

(defvar schemalens-root (file-name-as-directory (getenv "SCHEMALENS_ROOT")))
(defvar schemalens-report nil)

;; The configuration a user writes: the README's snippet, as written (SCHEMALENS_SNIPPET), with
;; `schemalens` on PATH; else `python -m schemalens lsp`.
(if (getenv "SCHEMALENS_SNIPPET")
    (progn (load (getenv "SCHEMALENS_SNIPPET") nil t) (require 'eglot))
  (add-to-list 'eglot-server-programs
               `((python-mode sql-mode) . (,(getenv "SCHEMALENS_PYTHON") "-m" "schemalens" "lsp"))))

;; The copy is not under version control: make its folder the project.
(add-hook 'project-find-functions (lambda (_dir) (cons 'transient schemalens-root)))

(defun schemalens-wait (predicate seconds)
  (let ((deadline (+ (float-time) seconds)))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output nil 0.2))
    (funcall predicate)))

(defun schemalens-line-diagnostics ()
  "The LSP diagnostics eglot keeps for the current line, as a code action's context."
  (vconcat (delq nil (mapcar (lambda (d) (cdr (assoc 'eglot-lsp-diag (flymake-diagnostic-data d))))
                             (flymake-diagnostics (line-beginning-position) (line-end-position))))))

(condition-case err
    (progn
      (find-file (expand-file-name "app/models/order.py" schemalens-root))
      (python-mode)
      (apply #'eglot (eglot--guess-contact))
      (unless (schemalens-wait (lambda () (eglot-current-server)) 60)
        (error "the server did not start"))
      (unless (schemalens-wait (lambda () (flymake-diagnostics)) 120)
        (error "no diagnostics"))
      (let* ((server (eglot-current-server))
             (diagnostics (mapcar #'flymake-diagnostic-text (flymake-diagnostics)))
             (hover (progn
                      (goto-char (point-min))
                      (forward-line 21)
                      (forward-char 5)
                      (jsonrpc-request server :textDocument/hover (eglot--TextDocumentPositionParams))))
             (class-hover (save-excursion
                            (goto-char (point-min))
                            (search-forward "class Order(")
                            (backward-char 3)
                            (jsonrpc-request server :textDocument/hover (eglot--TextDocumentPositionParams))))
             (actions (jsonrpc-request server :textDocument/codeAction
                                       (list :textDocument (eglot--TextDocumentIdentifier)
                                             :range (list :start (eglot--pos-to-lsp-position (line-beginning-position))
                                                          :end (eglot--pos-to-lsp-position (line-end-position)))
                                             :context (list :diagnostics (schemalens-line-diagnostics))))))
        (setq schemalens-report
              (list :server (plist-get (eglot--server-info server) :name)
                    :diagnostics (vconcat diagnostics)
                    :hover (plist-get (plist-get hover :contents) :value)
                    :class_hover (plist-get (plist-get class-hover :contents) :value)
                    :program (format "%S" (cdr (assoc '(python-mode sql-mode) eglot-server-programs)))
                    :actions (vconcat (mapcar (lambda (action) (plist-get action :title)) actions))))))
  (error (setq schemalens-report (list :error (error-message-string err)))))

(with-temp-file (getenv "SCHEMALENS_OUT")
  (insert (json-encode schemalens-report)))
(when (eglot-current-server)
  (ignore-errors (eglot-shutdown (eglot-current-server))))
(kill-emacs 0)
