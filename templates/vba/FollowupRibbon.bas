Attribute VB_Name = "FollowupRibbon"
' Follow-up ribbon callbacks (customUI onAction -> these Subs).
' Every button runs one entry point of pyxl.macros through xlwings' RunPython.
' User input never goes into a Python string: "Log contact" writes its answers
' into the very hidden sheet shForm (B1:B6) and pyxl.macros.log_contact reads them.
' The source stays ASCII (project code page 1252); Chinese text is written with
' \uXXXX escapes decoded by U().
Option Explicit

Public Sub FU_Refresh(control As IRibbonControl)
    RunPython "import pyxl.macros as m; m.refresh()"
End Sub

Public Sub FU_WeeklyPlan(control As IRibbonControl)
    RunPython "import pyxl.macros as m; m.weekly_plan()"
End Sub

Public Sub FU_CheckTiers(control As IRibbonControl)
    RunPython "import pyxl.macros as m; m.check_tiers()"
End Sub

Public Sub FU_NewIds(control As IRibbonControl)
    RunPython "import pyxl.macros as m; m.new_customer_ids()"
End Sub

Public Sub FU_ManagerCopy(control As IRibbonControl)
    shForm.Range("B8").Value = ""
    RunPython "import pyxl.macros as m; m.manager_copy()"
    DraftMail CStr(shForm.Range("B8").Value)
End Sub

' With Outlook (Windows): a draft mail with the manager copy attached, shown and never sent.
' Without Outlook, or on a Mac, nothing happens: the copy sits next to the workbook.
Private Sub DraftMail(ByVal path As String)
#If Mac Then
    Exit Sub
#Else
    Dim outlook As Object, mail As Object
    If path = "" Then Exit Sub
    If Not CreateObject("Scripting.FileSystemObject").FileExists(path) Then Exit Sub
    On Error Resume Next
    Set outlook = CreateObject("Outlook.Application")
    On Error GoTo 0
    If outlook Is Nothing Then Exit Sub
    On Error GoTo NoMail ' Outlook without a mail profile (or a blocked add-in) fails here
    Set mail = outlook.CreateItem(0)
    mail.Subject = Mid$(path, InStrRev(path, "\") + 1)
    mail.Attachments.Add path
    mail.Display
    Exit Sub
NoMail:
#End If
End Sub

Public Sub FU_EndOfDay(control As IRibbonControl)
    RunPython "import pyxl.macros as m; m.end_of_day()"
End Sub

' Import functions: xlwings writes a VBA module into this workbook, which needs "Trust access to the VBA
' project object model" (File > Options > Trust Center > Macro Settings). Windows only: xlwings' UDFs do
' not exist on macOS, so FU_WindowsOnly hides the button there.
Public Sub FU_ImportUdfs(control As IRibbonControl)
#If Mac Then
    Exit Sub
#Else
    ImportPythonUDFs
#End If
End Sub

' Restart Python: with "Use UDF Server" on (xlwings.conf sheet) the buttons and the FU_ functions run in one
' Python process that Excel keeps, so a newly installed version of the package is only seen by a new one.
' The same as xlwings' own add-in button (RibbonXlwings.bas RestartPython): KillPy ends the process,
' XLPy starts the next one at once. Windows only, like the UDF server itself.
Public Sub FU_RestartPython(control As IRibbonControl)
#If Mac Then
    Exit Sub
#Else
    KillPy
    XLPy.Exec ""
#End If
End Sub

Public Sub FU_WindowsOnly(control As IRibbonControl, ByRef visible)
#If Mac Then
    visible = False
#Else
    visible = True
#End If
End Sub

Public Sub FU_Help(control As IRibbonControl)
    RunPython "import pyxl.macros as m; m.show_help()"
End Sub

' Doctor: the checks of `followup doctor` on this workbook, shown by Python in a message box. When Python
' cannot start (no interpreter found, the xlwings DLL missing or quarantined, a package that fails to import)
' RunPython raises (the UDF server) or returns a non-zero exit code (a process per press; xlwings has shown its
' error then): this says how to run the same checks from a terminal. RunPython returns Empty on success.
Public Sub FU_Doctor(control As IRibbonControl)
    Dim status As Variant
    On Error GoTo NoPython
    status = RunPython("import pyxl.macros as m; m.doctor()")
    On Error GoTo 0
    If status = 0 Then Exit Sub
NoPython:
    MsgBox Msg("no_python") & vbLf & vbLf & "followup doctor """ & ThisWorkbook.FullName & """" & vbLf & vbLf _
        & Msg("no_python_docs"), vbExclamation, Msg("doctor")
End Sub

' Log contact: ask channel, reached, outcome, agreed next date, note, hard call; Cancel aborts.
' shForm gets labels in A1:A6 and normalised answers in B1:B6 (as text):
' channel (free text), reached (yes|no), outcome (progress|considering|refused|deal),
' agreed (yyyy-mm-dd or empty), note (free text or empty), hard call (yes|no).
Public Sub FU_LogContact(control As IRibbonControl)
    Dim channel As String, reached As String, outcome As String, agreed As String, note As String
    Dim hard As String
    Dim answer As String

    Do
        If Not Ask(Msg("channel"), channel) Then Exit Sub
    Loop While channel = ""

    Do
        If Not Ask(Msg("reached"), answer) Then Exit Sub
        reached = YesNo(answer)
        If reached = "" Then Invalid
    Loop While reached = ""

    answer = ""
    Do
        If Not Ask(Msg("outcome"), answer) Then Exit Sub
        outcome = OutcomeKey(answer)
        If outcome = "" Then Invalid
    Loop While outcome = ""

    answer = ""
    Do
        If Not Ask(Msg("agreed"), answer) Then Exit Sub
        If answer = "" Then Exit Do
        If IsDate(answer) Then agreed = Format$(CDate(answer), "yyyy-mm-dd") Else Invalid
    Loop While agreed = ""

    If Not Ask(Msg("note"), note) Then Exit Sub

    answer = ""
    Do
        If Not Ask(Msg("hard_call"), answer) Then Exit Sub
        If answer = "" Then hard = "no" Else hard = YesNo(answer)
        If hard = "" Then Invalid
    Loop While hard = ""

    WriteForm Array(channel, reached, outcome, agreed, note, hard)
    RunPython "import pyxl.macros as m; m.log_contact()"
End Sub

' One InputBox; False when cancelled (Application.InputBox returns False then).
Private Function Ask(ByVal prompt As String, ByRef answer As String) As Boolean
    Dim v As Variant
    v = Application.InputBox(prompt, Msg("title"), answer, Type:=2)
    If VarType(v) = vbBoolean Then Exit Function
    answer = Trim$(CStr(v))
    Ask = True
End Function

Private Sub Invalid()
    MsgBox Msg("invalid"), vbExclamation, Msg("title")
End Sub

Private Sub WriteForm(ByVal values As Variant)
    Dim labels As Variant, i As Long
    labels = Array("channel", "reached", "outcome", "agreed", "note", "hard_call")
    With shForm
        .Range("A1:B6").NumberFormat = "@"
        For i = 0 To 5
            .Cells(i + 1, 1).Value = labels(i)
            .Cells(i + 1, 2).Value = values(i)
        Next i
    End With
End Sub

Private Function YesNo(ByVal s As String) As String
    Select Case LCase$(s)
        Case "y", "yes", "1", U("\u662F"): YesNo = "yes"
        Case "n", "no", "0", U("\u5426"): YesNo = "no"
    End Select
End Function

Private Function OutcomeKey(ByVal s As String) As String
    Select Case LCase$(s)
        Case "1", "progress", U("\u8FDB\u5C55"): OutcomeKey = "progress"
        Case "2", "considering", U("\u8003\u8651"), U("\u8003\u8651\u4E2D"): OutcomeKey = "considering"
        Case "3", "refused", U("\u62D2\u7EDD"): OutcomeKey = "refused"
        Case "4", "deal", U("\u6210\u4EA4"): OutcomeKey = "deal"
    End Select
End Function

' The workbook language from the defined name FU_LANG (="zh-CN" or ="en"); English by default.
Private Function IsChinese() As Boolean
    Dim v As Variant
    On Error Resume Next
    v = ThisWorkbook.Names("FU_LANG").RefersTo
    If Left$(v, 2) <> "=""" Then v = Application.Evaluate(v) ' not a literal: evaluate it
    On Error GoTo 0
    If VarType(v) = vbString Then IsChinese = (LCase$(v) Like "*zh*")
End Function

Private Function Msg(ByVal key As String) As String
    If IsChinese() Then
        Select Case key
            Case "title": Msg = U("\u8BB0\u5F55\u8DDF\u8FDB")
            Case "channel": Msg = U("\u8054\u7CFB\u65B9\u5F0F\uFF08\u7535\u8BDD / \u5FAE\u4FE1 / \u62DC\u8BBF / \u90AE\u4EF6\uFF09\uFF1A")
            Case "reached": Msg = U("\u662F\u5426\u8054\u7CFB\u4E0A\uFF1F\uFF08\u662F / \u5426\uFF09")
            Case "outcome": Msg = U("\u7ED3\u679C\uFF1A1 \u8FDB\u5C55  2 \u8003\u8651\u4E2D  3 \u62D2\u7EDD  4 \u6210\u4EA4")
            Case "agreed": Msg = U("\u7EA6\u5B9A\u7684\u4E0B\u6B21\u8054\u7CFB\u65E5\u671F\uFF08\u53EF\u7559\u7A7A\uFF09\uFF1A")
            Case "note": Msg = U("\u5907\u6CE8\uFF08\u53EF\u7559\u7A7A\uFF09\uFF1A")
            Case "hard_call": Msg = U("\u9700\u8981\u7ECF\u7406/\u603B\u76D1\u534F\u52A9\u4E0B\u4E00\u6B65\u5417\uFF1F\uFF08\u662F / \u5426\uFF0C\u53EF\u7559\u7A7A\uFF09")
            Case "invalid": Msg = U("\u8F93\u5165\u65E0\u6548\uFF0C\u8BF7\u91CD\u65B0\u8F93\u5165\u3002")
            Case "doctor": Msg = U("\u8BCA\u65AD")
            Case "no_python": Msg = U("Python \u672A\u80FD\u542F\u52A8\uFF0C\u68C0\u67E5\u65E0\u6CD5\u5728 Excel \u4E2D\u8FD0\u884C\u3002\u8BF7\u6253\u5F00\u7EC8\u7AEF\uFF0C\u7528\u5DE5\u4F5C\u7C3F\u6240\u7528\u7684 Python \u8FD0\u884C\uFF1A")
            Case "no_python_docs": Msg = U("\u62A5\u544A\u4E3A\u6BCF\u4E2A\u95EE\u9898\u7ED9\u51FA\u4E00\u884C\u4FEE\u590D\u65B9\u6CD5\uFF1B\u53E6\u89C1 docs/excel.md \u7684\u201C\u51FA\u73B0\u95EE\u9898\uFF1F\u201D\u4E00\u8282\u3002")
        End Select
    Else
        Select Case key
            Case "title": Msg = "Log contact"
            Case "channel": Msg = "Channel (phone / WeChat / visit / email):"
            Case "reached": Msg = "Reached the customer? (yes / no)"
            Case "outcome": Msg = "Outcome: 1 progress  2 considering  3 refused  4 deal"
            Case "agreed": Msg = "Agreed next contact date (optional):"
            Case "note": Msg = "Note (optional):"
            Case "hard_call": Msg = "Hard call: ask a manager or director to help with the next step? (yes / no, may be blank)"
            Case "invalid": Msg = "Invalid answer, please try again."
            Case "doctor": Msg = "Doctor"
            Case "no_python": Msg = "Python did not start, so the checks cannot run in Excel. Open a terminal and run them with the Python the workbook uses:"
            Case "no_python_docs": Msg = "Its report gives a one-line fix for each problem; see also docs/excel.md, ""Something does not work?"""
        End Select
    End If
End Function

' Decode \uXXXX escapes (4 hex digits) into Unicode characters.
Private Function U(ByVal s As String) As String
    Dim i As Long, out As String
    i = 1
    Do While i <= Len(s)
        If Mid$(s, i, 2) = "\u" And i + 5 <= Len(s) Then
            out = out & ChrW(CLng("&H" & Mid$(s, i + 2, 4)) And &HFFFF&)
            i = i + 6
        Else
            out = out & Mid$(s, i, 1)
            i = i + 1
        End If
    Loop
    U = out
End Function
