//! A tool's answer in MCP's terms: the sentence, and the same facts as structured content.

use rmcp::{
    ErrorData,
    handler::server::tool::IntoCallToolResult,
    model::{CallToolResponse, CallToolResult, ContentBlock},
};
use serde::Serialize;

/// A tool's answer: the sentence people (and the tutorial) expect, and the same facts as
/// structured content, repeated as JSON text for clients that read text only.
pub struct Answer<T> {
    pub text: String,
    pub data: T,
}

impl<T: Serialize> IntoCallToolResult for Answer<T> {
    fn into_call_tool_result(self) -> Result<CallToolResponse, ErrorData> {
        let value = serde_json::to_value(&self.data).map_err(|e| {
            ErrorData::internal_error(format!("cannot encode the answer: {e}"), None)
        })?;
        let mut result = CallToolResult::success(vec![
            ContentBlock::text(self.text),
            ContentBlock::text(value.to_string()),
        ]);
        result.structured_content = Some(value);
        Ok(result.into())
    }
}
